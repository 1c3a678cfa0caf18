"""Translation with a tiny random NLLB-architecture model: forced target language, sentences, length bound, loops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch

from ayavision.backends import BackendError, ChatRequest, create_backend
from ayavision.backends.seq2seq import join_sentences, length_bound, repetition_loop, split_sentences


def _request(text: str, target: str = "fra_Latn", max_tokens: int = 200) -> ChatRequest:
    system = {"role": "system", "content": "Translate."}
    hints = {"src_lang": "eng_Latn", "tgt_lang": target}
    return ChatRequest(messages=[system, {"role": "user", "content": text}], max_tokens=max_tokens, hints=hints)


def _run(backend, requests, spy: list | None = None, fake=None):
    async def go():
        await backend.check()
        real = backend.model.generate

        def generate(*args, **kwargs):
            out = fake(kwargs) if fake is not None else real(*args, **kwargs)
            if spy is not None:
                spy.append((kwargs, out))
            return out

        backend.model.generate = generate
        try:
            return await asyncio.gather(*(backend.chat(r) for r in requests), return_exceptions=True)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_target_language_is_forced_first_and_output_is_bounded_by_the_source(tiny_nllb_dir: Path):
    backend = create_backend("transformers", model=str(tiny_nllb_dir), detect_loops=False, batch_size=8)
    spy: list = []
    texts = [("Hello world. How are you?", "fra_Latn"), ("A cat.", "fra_Latn"), ("Big dog!", "deu_Latn")]
    responses = _run(backend, [_request(t, lang) for t, lang in texts], spy)
    tokenizer = backend.processor
    lang_ids = {lang: tokenizer.convert_tokens_to_ids(lang) for lang in ("fra_Latn", "deu_Latn")}
    rows_by_lang: dict[int, int] = {}
    for kwargs, out in spy:
        forced = kwargs["forced_bos_token_id"]
        assert forced in lang_ids.values()
        assert (out[:, 1] == forced).all()  # after the decoder start token comes the target language
        rows_by_lang[forced] = rows_by_lang.get(forced, 0) + out.shape[0]
    assert rows_by_lang == {lang_ids["fra_Latn"]: 3, lang_ids["deu_Latn"]: 1}  # two sentences, then one each
    tokenizer.src_lang = "eng_Latn"
    for (text, _), response in zip(texts, responses, strict=True):
        bounds = [length_bound(len(tokenizer(s)["input_ids"]), 2.0, 10, 200) for s, _ in split_sentences(text)]
        # A random model never emits end-of-sequence: each sentence runs to exactly its own bound.
        assert response.finish_reason == "length" and response.completion_tokens == sum(bounds)


def test_the_bound_never_exceeds_max_tokens(tiny_nllb_dir: Path):
    backend = create_backend("transformers", model=str(tiny_nllb_dir), detect_loops=False)
    (response,) = _run(backend, [_request("A rather long sentence about nothing in particular.", max_tokens=5)])
    assert response.completion_tokens == 5 and response.finish_reason == "length"


def test_a_model_that_stops_gives_a_finished_translation(stopping_nllb_dir: Path):
    backend = create_backend("transformers", model=str(stopping_nllb_dir))
    (response,) = _run(backend, [_request("Hello there. Bye.")])
    assert response.finish_reason == "stop" and response.completion_tokens == 6 and response.text


def _fake_output(loop_first: bool, calls: list):
    """A generate() that loops on the first call and (optionally) not on the retry."""

    def fake(kwargs):
        calls.append(kwargs)
        rows = kwargs["input_ids"].shape[0]
        forced = kwargs["forced_bos_token_id"]
        looping = len(calls) == 1 or not loop_first
        body = [50, 51] * 10 if looping else [50, 51, 52, 53, 2]
        return torch.tensor([[2, forced, *body]] * rows)

    return fake


def test_a_repetition_loop_is_regenerated_with_ngram_blocking(tiny_nllb_dir: Path):
    calls: list = []
    backend = create_backend("transformers", model=str(tiny_nllb_dir))
    (response,) = _run(backend, [_request("One sentence.")], fake=_fake_output(True, calls))
    assert len(calls) == 2 and "no_repeat_ngram_size" not in calls[0] and calls[1]["no_repeat_ngram_size"] == 3
    assert response.finish_reason == "stop" and response.completion_tokens == 4


def test_a_loop_that_persists_is_refused(tiny_nllb_dir: Path):
    calls: list = []
    backend = create_backend("transformers", model=str(tiny_nllb_dir))
    (error,) = _run(backend, [_request("One sentence.")], fake=_fake_output(False, calls))
    assert isinstance(error, BackendError) and "repetition loop" in str(error) and len(calls) == 2


def test_unknown_language_and_missing_hints_are_clear_errors(tiny_nllb_dir: Path):
    backend = create_backend("transformers", model=str(tiny_nllb_dir))
    plain = ChatRequest(messages=[{"role": "user", "content": "Hi."}], max_tokens=8)
    unknown, no_hints = _run(backend, [_request("Hi.", target="xxx_Yyyy"), plain])
    assert isinstance(unknown, BackendError) and unknown.fatal and "xxx_Yyyy" in str(unknown)
    assert isinstance(no_hints, BackendError) and "src_lang" in str(no_hints)


def test_sentence_splitting_and_joining():
    text = "First one. Second one!\n\nThird?  Fourth"
    pieces = split_sentences(text)
    assert [s for s, _ in pieces] == ["First one.", "Second one!", "Third?", "Fourth"]
    assert join_sentences(pieces, "fra_Latn") == "First one. Second one!\n\nThird?  Fourth"
    assert split_sentences("你好。今天很好！") == [("你好。", ""), ("今天很好！", "")]
    assert join_sentences([("你好。", " "), ("再见。", "")], "zho_Hans") == "你好。再见。"


def test_repetition_loop_detection():
    assert repetition_loop([1, 2, 3, 4, 4, 4, 4])
    assert repetition_loop([9, 1, 2, 1, 2, 1, 2, 1, 2])
    assert not repetition_loop([1, 2, 3, 4, 5, 6, 7, 8])
    assert not repetition_loop([1, 2, 1, 2, 1, 2])  # three copies are not yet a loop


def test_options_are_checked(tmp_path: Path, tiny_nllb_dir: Path):
    with pytest.raises(ValueError, match="does not exist"):
        create_backend("transformers", model=str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="batchsize"):
        create_backend("transformers", model=str(tiny_nllb_dir), batchsize=3)
