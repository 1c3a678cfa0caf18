"""The tiny text LLM: a Cohere2 causal LM pretrained on the text task and written-scene questions, 23 languages."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ayavision.errors import ConfigError
from ayavision.languages import LANGUAGES
from ayavision.model.tokens import END_OF_TURN
from ayavision.utils.progress import progress_bar
from ayavision.world.cache import building
from ayavision.world.pretrain.common import (
    lr_at,
    make_optimizer,
    optimizer_step,
    prefetch,
    reusable,
    seed_everything,
    set_lr,
    set_threads,
    tokenizer_key,
)
from ayavision.world.pretrain.configs import LLMConfig
from ayavision.world.pretrain.copying import copy_loss, copy_rows
from ayavision.world.pretrain.scene_qa import SceneQA, scene_qa
from ayavision.world.pretrain.tokenizer import load_world_tokenizer
from ayavision.world.texttask import TextDialogue, TextSample, score_text_task, text_dialogue, text_sample


def build_llm(config: LLMConfig, tokenizer):
    from transformers import Cohere2Config, Cohere2ForCausalLM

    eot = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    text_config = Cohere2Config(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.kv_heads,
        max_position_embeddings=config.max_positions,
        # Every sequence fits the window: sliding and full layers then see the same context.
        sliding_window=config.max_positions,
        # The AyaVision head applies no logit_scale: 1.0 keeps the text LLM and the VLM's LLM the same function.
        logit_scale=1.0,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=eot,
    )
    model = Cohere2ForCausalLM(text_config)
    model.generation_config.eos_token_id = eot
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def encode_sample(tokenizer, sample: TextSample) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids) in the Cohere chat format; the answer ends with the end-of-turn token."""
    messages = [{"role": "user", "content": sample.prompt}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    answer = [*tokenizer(sample.answer, add_special_tokens=False).input_ids, end]
    return list(prompt), answer


def encode_dialogue(tokenizer, dialogue: TextDialogue | SceneQA) -> tuple[list[int], list[int]]:
    """(ids, assistant mask) of a whole dialogue through the chat template's generation marks."""
    out = tokenizer.apply_chat_template(
        dialogue.messages(), tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    return list(out["input_ids"]), list(out["assistant_masks"])


def encode_description(tokenizer, seed: int, index: int) -> tuple[list[int], list[int]]:
    """(ids, all-ones mask) of a scene description in a language drawn per item: plain text, every token learnt."""
    from ayavision.world.scene import sample_scene, seeded_rng
    from ayavision.world.tasks import render_statements, scene_statements

    rng = seeded_rng(seed, "description", index)
    language = rng.choice(LANGUAGES).nllb
    scene = sample_scene(rng, f"description-{index}")
    text = render_statements(scene_statements(scene), language, rng)
    ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False).input_ids]
    return ids, [1] * len(ids)


def _batch(rows: list[tuple[list[int], list[int]]], pad: int, prompt_weight: float):
    length = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), length), pad, dtype=torch.long)
    weights = torch.zeros((len(rows), length))
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for row, (seq, answer_mask) in enumerate(rows):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        w = torch.tensor(answer_mask, dtype=torch.float)
        # Answers weigh 1; the rest of the dialogue a little, so the LM still learns the languages' text.
        weights[row, : len(seq)] = torch.where(w > 0, 1.0, prompt_weight)
        weights[row, 0] = 0.0  # BOS is never predicted
    return ids, mask, weights


def _loss(model, ids: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    targets, w = ids[:, 1:], weights[:, 1:]
    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    )
    return (losses * w.reshape(-1)).sum() / w.sum()


def eval_samples(config: LLMConfig) -> list[TextSample]:
    """Held-out questions, the same number in each language."""
    per_language = max(1, config.eval_size // len(LANGUAGES))
    out = []
    for lang in LANGUAGES:
        task = config.task(per_language, languages=(lang.nllb,))
        out += [text_sample(task, i, "eval") for i in range(per_language)]
    return out


@torch.no_grad()
def answer_text_task(
    model, tokenizer, samples: list[TextSample], batch_size: int = 64, max_new_tokens: int = 12
) -> list[str]:
    """Greedy answers of a causal LM (or anything with ``generate``) to text-task samples."""
    model.eval()
    answers: list[str] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            prompts = [encode_sample(tokenizer, s)[0] for s in chunk]
            width = max(len(p) for p in prompts)
            ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(p)) + p for p in prompts])
            mask = (torch.arange(width)[None, :] >= torch.tensor([width - len(p) for p in prompts])[:, None]).long()
            generated = model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False
            )
            answers += tokenizer.batch_decode(generated[:, width:], skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    model.train()
    return [a.strip() for a in answers]


def score_scene_qa(model, tokenizer, config: LLMConfig) -> dict[str, Any]:
    """Held-out written-scene questions: accuracy overall, per language and per question kind; and on as many
    cross-lingual ones (the scene written in one language, the question asked in another)."""
    if config.scene_qa_eval == 0:
        return {}
    same = [scene_qa(config.seed, i, "eval", 1) for i in range(config.scene_qa_eval)]
    crossed = [scene_qa(config.seed, i, "eval-crosslingual", 1, crosslingual=1.0) for i in range(config.scene_qa_eval)]
    crossing = _score_dialogues(model, tokenizer, crossed)
    return {
        **_score_dialogues(model, tokenizer, same),
        "scene_qa_crosslingual_accuracy": crossing["scene_qa_accuracy"],
        "scene_qa_crosslingual_by_language": crossing["scene_qa_by_language"],
    }


def _score_dialogues(model, tokenizer, dialogues: list[SceneQA]) -> dict[str, Any]:
    from ayavision.world.measure import guess_odds
    from ayavision.world.oracle import answers_right, read_text

    samples = [TextSample(d.id, d.language, d.prompt, d.turns[0][1], "", "") for d in dialogues]
    answers = answer_text_task(model, tokenizer, samples)
    right: dict[str, list[bool]] = {}
    by_frame: dict[str, list[bool]] = {}
    odds = []
    for dialogue, answer in zip(dialogues, answers, strict=True):
        question, gold, kind = dialogue.turns[0]
        ok = answers_right(answer, gold, question, dialogue.language)
        right.setdefault(dialogue.language, []).append(ok)
        read = read_text(question, [dialogue.language])
        asked = read.question() if read else None
        by_frame.setdefault(asked.frame if asked and asked.frame else "other", []).append(ok)
        odds.append(guess_odds(kind) or 0.0)
    total = [ok for oks in right.values() for ok in oks]
    return {
        "scene_qa_accuracy": sum(total) / len(total),
        "scene_qa_chance": sum(odds) / len(odds),
        "scene_qa_by_language": {lang: sum(oks) / len(oks) for lang, oks in sorted(right.items())},
        "scene_qa_by_question": {frame: sum(oks) / len(oks) for frame, oks in sorted(by_frame.items())},
        "scene_qa_questions": len(total),
    }


def _copying_lesson(model, tok, config: LLMConfig, progress: bool) -> None:
    """``config.copy_steps`` steps on repeated random spans (pretrain/copying.py), before any other lesson."""
    warmup = min(config.warmup, max(1, config.copy_steps // 20))
    optimizer = make_optimizer(model, config.lr, config.weight_decay)
    with progress_bar("the copying lesson", config.copy_steps, enabled=progress) as advance:
        for step in range(config.copy_steps):
            # Steps numbered apart from the lessons' copying rows, so the two never repeat a span.
            rows = copy_rows(config.seed, -1 - step, config.batch_size, len(tok), tok.bos_token_id)
            set_lr(optimizer, lr_at(step, config.copy_steps, config.lr, warmup))
            loss = _loss(model, *_batch(rows, tok.pad_token_id, 0.0))
            optimizer_step(optimizer, loss, model.parameters())
            advance(note=f"loss {loss.item():.3f}")


def pretrain_text_llm(
    out: str | Path, tokenizer: str | Path, config: LLMConfig | None = None, *, progress: bool = False, **settings: Any
) -> dict[str, Any]:
    """Train the tiny text LLM and save it with its tokenizer to ``out``; reused if already there.

    Returns the summary with text-task accuracy on held-out questions (overall, per language, per kind)
    against chance.
    """
    config = config or LLMConfig(**settings)
    done = reusable(out, "text-llm", config, tokenizer)
    if done is not None:
        return done
    set_threads(config.threads)
    seed_everything(config.seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    tok = load_world_tokenizer(tokenizer)
    model = build_llm(config, tok)
    descriptions = round(config.batch_size * config.description_share)
    questions = round(config.batch_size * config.scene_qa_share)
    copies = round(config.batch_size * config.copy_share)
    if descriptions + questions + copies >= config.batch_size:
        raise ConfigError("text_llm: description_share + scene_qa_share + copy_share must leave room for the text task")
    _copying_lesson(model, tok, config, progress)
    # The lessons start with fresh optimizer moments and their own warmup, as a second training run would.
    optimizer = make_optimizer(model, config.lr, config.weight_decay)
    task = config.task(config.steps * config.batch_size)
    losses: list[float] = []

    def make_batch(step: int):
        first = step * config.batch_size
        rows = [
            encode_dialogue(tok, text_dialogue(task, first + j, "train", config.turns))
            for j in range(config.batch_size - descriptions - questions - copies)
        ]
        rows += [encode_description(tok, config.seed, first + j) for j in range(descriptions)]
        rows += [
            encode_dialogue(tok, scene_qa(config.seed, first + j, "train", config.turns, config.crosslingual_share))
            for j in range(questions)
        ]
        rows += copy_rows(config.seed, step, copies, len(tok), tok.bos_token_id)
        return _batch(rows, tok.pad_token_id, config.prompt_weight)

    with progress_bar("pretraining the text LLM", config.steps, enabled=progress) as advance:
        for step, batch in enumerate(prefetch(make_batch, config.steps)):
            set_lr(optimizer, lr_at(step, config.steps, config.lr, config.warmup))
            loss = _loss(model, *batch)
            optimizer_step(optimizer, loss, model.parameters())
            losses.append(loss.item())
            advance(note=f"loss {np.mean(losses[-20:]):.3f}")
    samples = eval_samples(config)
    score = score_text_task(samples, answer_text_task(model, tok, samples))
    summary = {
        "accuracy": score.accuracy,
        "chance": score.chance,
        "by_language": score.by_language,
        "by_kind": score.by_kind,
        "eval_questions": score.n,
        **score_scene_qa(model, tok, config),
        "copy_loss": copy_loss(model, len(tok), tok.bos_token_id),
        "final_loss": float(np.mean(losses[-20:])),
        "seconds": round(time.perf_counter() - start, 1),
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokenizer": tokenizer_key(tokenizer),
    }
    with building(out, "text-llm", config) as (tmp, finish):
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        return finish(**summary)
