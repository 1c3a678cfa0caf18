"""The append-only results log survives a kill mid-write and refuses real corruption."""

from __future__ import annotations

from pathlib import Path

import pytest

from ayavision.jobs.journal import JournalError as JsonLogError
from ayavision.jobs.journal import JsonLog


def test_torn_last_line_is_dropped_and_appends_continue(tmp_path: Path) -> None:
    log = JsonLog(tmp_path / "a.jsonl")
    log.append([{"id": 1}, {"id": 2}])
    with open(log.path, "ab") as handle:
        handle.write(b'{"id": 3, "ans')  # what a kill in the middle of a write leaves
    reopened = JsonLog(log.path)
    assert reopened.load() == [{"id": 1}, {"id": 2}] and reopened.repaired_tail
    reopened.append([{"id": 3}])
    assert JsonLog(log.path).load() == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}', encoding="utf-8")
    log = JsonLog(path)
    assert log.load() == [{"id": 1}, {"id": 2}] and not log.repaired_tail
    log.append([{"id": 3}])
    assert [r["id"] for r in JsonLog(path).load()] == [1, 2, 3]


def test_corruption_before_the_end_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": 1}\nnot json\n{"id": 3}\n', encoding="utf-8")
    with pytest.raises(JsonLogError, match=r"a\.jsonl:2: not a JSON line"):
        JsonLog(path).load()
