"""The request cache and the journal: keys, reopening, torn last lines after kill -9, last line wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.annotate.journal import Journal
from ayavision.backends import ChatRequest, ChatResponse
from ayavision.jobs.cache import RequestCache, cache_key
from ayavision.jobs.journal import JournalError
from tests.annotate.helpers import png_bytes

IDENTITY = {"backend": "openai", "model": "m"}


def _request(text: str = "hi", image: bytes | None = None, **kwargs) -> ChatRequest:
    content: list = [{"type": "text", "text": text}]
    if image is not None:
        content.insert(0, {"type": "image", "image": image})
    return ChatRequest(
        messages=[{"role": "user", "content": content}], max_tokens=kwargs.pop("max_tokens", 64), **kwargs
    )


def test_key_covers_what_decides_the_answer():
    base = cache_key(IDENTITY, _request(image=png_bytes("red")))
    assert base == cache_key(dict(IDENTITY), _request(image=png_bytes("red")))
    assert base != cache_key(IDENTITY, _request(image=png_bytes("blue")))  # the image's content
    assert base != cache_key(IDENTITY, _request("ho", image=png_bytes("red")))  # the rendered template/record
    assert base != cache_key({"backend": "openai", "model": "m2"}, _request(image=png_bytes("red")))
    assert base != cache_key(IDENTITY, _request(image=png_bytes("red"), max_tokens=65))
    assert base != cache_key(IDENTITY, _request(image=png_bytes("red"), seed=1))
    assert base != cache_key(IDENTITY, _request(image=png_bytes("red"), hints={"tgt_lang": "fra_Latn"}))


def test_cache_survives_reopening_and_skips_a_torn_line(tmp_path: Path):
    cache = RequestCache(tmp_path)
    cache.put("k1", ChatResponse("one", "stop", 3, 1))
    cache.put("k2", ChatResponse("two", "length"))
    assert cache.get("k1") == ChatResponse("one", "stop", 3, 1)
    cache.close()
    shard = next(tmp_path.glob("*.jsonl"))
    with open(shard, "ab") as handle:  # what kill -9 mid-write leaves
        handle.write(b'{"key": "k3", "text": "thr')
    reopened = RequestCache(tmp_path)
    assert reopened.torn_lines == 1 and len(reopened) == 2
    assert reopened.get("k2") == ChatResponse("two", "length") and reopened.get("k3") is None
    reopened.put("k3", ChatResponse("three"))  # into a new shard of its own
    reopened.close()
    assert len(list(tmp_path.glob("*.jsonl"))) == 2 and RequestCache(tmp_path).get("k3") == ChatResponse("three")


def test_no_directory_means_no_cache():
    cache = RequestCache(None)
    cache.put("k", ChatResponse("x"))
    assert cache.get("k") is None


def _entry(index: int, status: str = "kept", **extra) -> dict:
    return {"index": index, "id": f"r{index}", "status": status, "reason": "", "outputs": [], **extra}


def test_journal_cuts_a_torn_tail_and_the_last_line_wins(tmp_path: Path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.open()
    journal.append(_entry(0))
    journal.append(_entry(1, "failed", retryable=True))
    journal.close()
    with open(path, "ab") as handle:
        handle.write(b'{"index": 2, "id": "r2", "sta')
    journal = Journal(path)
    done = journal.open()
    assert sorted(done) == [0, 1] and done[1].retryable and journal.torn_bytes > 0
    journal.append(_entry(1))  # the retry supersedes the failure
    journal.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    assert Journal(path).open()[1].status == "kept"


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path: Path):
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps(_entry(0)) + "\nnot json\n" + json.dumps(_entry(1)) + "\n", encoding="utf-8")
    with pytest.raises(JournalError, match=r"journal.jsonl:2"):
        Journal(path).open()
