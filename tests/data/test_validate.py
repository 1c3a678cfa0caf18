"""validate_dataset on the broken corpus: every problem found, each named by file, line, id and message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ayavision.data import DataError, validate_dataset

from .helpers import make_image, record, write_jsonl_lines

# (line, record id, a phrase of the message) for every problem in fixtures/broken/records.jsonl.
# Lines 1 and 19 are valid records and line 22 is blank: none of them may report anything.
EXPECTED = [
    (2, None, "invalid JSON"),
    (3, None, "expected a JSON object, got list"),
    (4, "missing-task", "task: missing required field"),
    (5, "bad-language", "language: unknown language code 'klingon'; valid codes (NLLB/ISO 639-1): eng_Latn/en"),
    (6, "bad-task", "task: unknown task 'poetry'; must be one of: captioning"),
    (7, "bad-bucket", "bucket: unknown bucket 'misc'; must be one of: original"),
    (8, "count-mismatch", "messages: 2 image part(s) in the messages but 1 image(s) in 'images'"),
    (9, "missing-image", "images[0]: image file 'images/nowhere.png' not found under"),
    (10, "undecodable", "images[0]: cannot decode 'images/notes.png': not a recognised image format"),
    (11, "escapes-root", "images[0]: image path '../outside.png' escapes the dataset root"),
    (12, "absolute-path", "images[0]: image path '/etc/hostname' is absolute"),
    (13, "bomb", "images[0]: 'images/bomb.png' has 10000000000 pixels, over the limit of 268435456"),
    (14, "ok-1", "duplicate id 'ok-1' (first seen at "),
    (15, "no-assistant", "messages: no assistant turn"),
    (16, "empty-text", "messages[1].content[0].text: empty text"),
    (17, "bad-part-type", "messages[1].content[0].type: must be 'image' or 'text'"),
    (18, "bad-role", "messages[1].role: must be 'system', 'user' or 'assistant'"),
    (20, "misspelt-field", "langauge: unknown field"),
    (21, "image-in-answer", "messages[1]: image parts belong in user turns"),
    (23, "two-problems", "language: unknown language code 'xx'"),
    (23, "two-problems", "images[0]: image file 'images/nowhere.png' not found"),
]


@pytest.fixture
def broken_report(broken_dataset: Path):
    return validate_dataset(broken_dataset)


@pytest.mark.parametrize(("line", "record_id", "text"), EXPECTED, ids=[f"line{e[0]}-{e[2][:24]}" for e in EXPECTED])
def test_each_broken_record_is_reported(broken_report, line: int, record_id: str | None, text: str) -> None:
    matches = [p for p in broken_report.problems if p.line == line and text in p.message]
    assert len(matches) == 1, [str(p) for p in broken_report.problems if p.line == line]
    problem = matches[0]
    assert problem.file.name == "records.jsonl"
    assert problem.record_id == record_id
    label = f" [{record_id}]" if record_id else ""
    assert str(problem).startswith(f"{problem.file}:{line}:{label} ")


def test_nothing_else_is_reported(broken_report) -> None:
    reported = sorted((p.line, p.record_id) for p in broken_report.problems)
    assert reported == sorted((line, record_id) for line, record_id, _ in EXPECTED)
    assert broken_report.records_checked == 22  # every non-blank line, broken or not
    assert broken_report.records_with_problems == 20
    assert not broken_report.ok
    assert broken_report.summary() == "21 problem(s) in 20 of 22 record(s) in 1 file(s)"


def test_duplicate_names_the_first_occurrence(broken_report, broken_dataset: Path) -> None:
    (duplicate,) = [p for p in broken_report.problems if p.line == 14]
    assert duplicate.message.endswith(f"(first seen at {broken_dataset}:1)")


def test_without_image_checks_only_image_problems_disappear(broken_dataset: Path) -> None:
    report = validate_dataset(broken_dataset, check_images=False)
    assert not [p for p in report.problems if p.message.startswith("images[")]
    assert len(report.problems) == len(EXPECTED) - 6


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    path = write_jsonl_lines(tmp_path / "d.jsonl", [record("r")])
    make_image(tmp_path / "images/red.png", (8, 6))
    assert validate_dataset(path, max_pixels=48).ok
    (problem,) = validate_dataset(path, max_pixels=47).problems
    assert "48 pixels, over the limit of 47 (possible decompression bomb)" in problem.message


def test_explicit_root(tmp_path: Path) -> None:
    make_image(tmp_path / "pool/images/red.png")
    path = write_jsonl_lines(tmp_path / "lists/d.jsonl", [record("r")])
    assert not validate_dataset(path).ok
    assert validate_dataset(path, root=tmp_path / "pool").ok


def test_good_dataset_passes(good_dataset: Path) -> None:
    report = validate_dataset(good_dataset)
    assert report.ok, [str(p) for p in report.problems]
    assert report.records_checked == 4
    assert report.summary() == "OK: 4 record(s) in 1 file(s), no problems"


def test_missing_dataset_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        validate_dataset(tmp_path / "missing.jsonl")


def _lines_with(tmp_path: Path, bad: bytes) -> Path:
    """A dataset whose line 2 is ``bad``, between two valid records."""
    path = write_jsonl_lines(tmp_path / "d.jsonl", [record("first", images=[])])
    with path.open("ab") as handle:
        handle.write(bad + b"\n" + json.dumps(record("last", images=[])).encode() + b"\n")
    return path


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # json recurses once per level: this used to end the whole run with a RecursionError traceback.
        (b"[" * 5000 + b"]" * 5000, "invalid JSON: nested too deeply"),
        (b'{"id": "deep", "meta": ' + b"[" * 5000 + b"]" * 5000 + b"}", "invalid JSON: nested too deeply"),
        # Valid JSON that Python will not turn into an int (over sys.get_int_max_str_digits() digits).
        (b'{"id": ' + b"7" * 100_000 + b"}", "unreadable JSON: Exceeds the limit"),
        (b"\xff\xfe\x00binary\x80garbage", "line is not valid UTF-8"),
    ],
    ids=["nested-list", "nested-in-a-record", "huge-number", "binary"],
)
def test_a_line_that_cannot_be_parsed_is_one_problem_and_the_others_are_still_checked(tmp_path, bad, message):
    report = validate_dataset(_lines_with(tmp_path, bad), check_images=False)
    assert [(p.line, p.message.startswith(message)) for p in report.problems] == [(2, True)], report.problems
    assert report.records_checked == 3
    assert str(report.problems[0]).startswith(f"{tmp_path / 'd.jsonl'}:2: ")


def test_a_line_over_the_length_limit_is_named_and_skipped_without_being_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr("ayavision.data.io.MAX_LINE_BYTES", 1000)
    monkeypatch.setattr("ayavision.data.io._SKIP_BLOCK_BYTES", 100)
    long_line = json.dumps(record("long", images=[], meta={"pad": "x" * 5000})).encode()
    report = validate_dataset(_lines_with(tmp_path, long_line), check_images=False)
    (problem,) = report.problems
    assert (problem.line, problem.message) == (2, "line is longer than 1000 bytes: not a record")
    assert report.records_checked == 3
    # A long last line with no newline at all is the same one problem.
    path = tmp_path / "tail.jsonl"
    path.write_bytes(json.dumps(record("ok", images=[])).encode() + b"\n" + b"\x00" * 5000)
    (problem,) = validate_dataset(path, check_images=False).problems
    assert (problem.line, problem.message) == (2, "line is longer than 1000 bytes: not a record")


def test_a_line_at_the_length_limit_is_still_read(tmp_path, monkeypatch):
    line = json.dumps(record("exact", images=[])).encode()
    monkeypatch.setattr("ayavision.data.io.MAX_LINE_BYTES", len(line))
    path = tmp_path / "d.jsonl"
    path.write_bytes(line + b"\n" + line.replace(b"exact", b"exac2"))  # the second has no newline
    report = validate_dataset(path, check_images=False)
    assert report.ok and report.records_checked == 2, report.problems


def test_the_cli_reports_unparseable_lines_next_to_the_other_problems(tmp_path):
    from typer.testing import CliRunner

    from ayavision.cli.main import app

    path = _lines_with(tmp_path, b"[" * 5000 + b"]" * 5000)
    with path.open("ab") as handle:
        handle.write(b"\xff garbage\n" + json.dumps(record("bad-task", images=[], task="poetry")).encode() + b"\n")
    result = CliRunner().invoke(app, ["data", "validate", str(path), "--no-images"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}:2: invalid JSON: nested too deeply"
    assert lines[1].startswith(f"{path}:4: line is not valid UTF-8")
    assert lines[2].startswith(f"{path}:5: [bad-task] task: unknown task 'poetry'")
    assert lines[-1] == "3 problem(s) in 3 of 5 record(s) in 1 file(s)"
    assert result.exit_code == 1  # problems found in the data: the command's answer, as before
