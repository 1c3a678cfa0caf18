"""The record schema: normalisation on input, readable errors naming the field, helpers."""

from __future__ import annotations

import json

import pytest

from ayavision.data import (
    BUCKETS,
    TASKS,
    ConversationRecord,
    EmbeddedImage,
    RecordValidationError,
    validate_record,
)

from .helpers import record


@pytest.mark.parametrize(
    ("given", "stored"), [("fr", "fra_Latn"), ("ar", "arb_Arab"), ("zh", "zho_Hans"), ("eng_Latn", "eng_Latn")]
)
def test_language_codes_are_normalised_to_nllb(given: str, stored: str) -> None:
    assert validate_record(record("r", language=given)).language == stored


def test_unknown_language_lists_the_valid_codes() -> None:
    with pytest.raises(RecordValidationError) as caught:
        validate_record(record("r", language="xx"))
    message = str(caught.value)
    assert message.startswith("language: unknown language code 'xx'")
    assert "fra_Latn/fr" in message


def test_plain_string_content_becomes_one_text_part() -> None:
    raw = record("r")
    raw["messages"][1]["content"] = "A red square."
    parsed = validate_record(raw)
    assert parsed.messages[1].to_dict() == {"role": "assistant", "content": [{"type": "text", "text": "A red square."}]}


def test_error_names_the_field_path() -> None:
    raw = record("r")
    raw["messages"][1]["content"] = [{"type": "video"}]
    with pytest.raises(RecordValidationError) as caught:
        validate_record(raw)
    assert str(caught.value) == "messages[1].content[0].type: must be 'image' or 'text', got 'video'"


def test_every_field_issue_is_reported_not_just_the_first() -> None:
    raw = record("r", task="poetry", bucket="misc")
    del raw["source"]
    with pytest.raises(RecordValidationError) as caught:
        validate_record(raw)
    fields = {issue.field: issue.message for issue in caught.value.issues}
    assert set(fields) == {"task", "bucket", "source"}
    assert fields["source"] == "missing required field"
    assert fields["task"].startswith("unknown task 'poetry'; must be one of: captioning, vqa")
    assert "synthetic_en" in fields["bucket"]


def test_image_count_must_match_image_parts_even_when_another_field_fails() -> None:
    raw = record("r", images=["a.png", "b.png"], language="xx")
    raw["messages"][0]["content"] = raw["messages"][0]["content"][1:]  # drops one image part
    with pytest.raises(RecordValidationError) as caught:
        validate_record(raw)
    fields = {issue.field: issue.message for issue in caught.value.issues}
    assert fields["messages"] == "1 image part(s) in the messages but 2 image(s) in 'images'"
    assert "language" in fields


@pytest.mark.parametrize(
    ("mutate", "field", "text"),
    [
        (lambda r: r["messages"].pop(), "messages", "no assistant turn"),
        (lambda r: r["messages"][1]["content"][0].update(text=" \n"), "messages[1].content[0].text", "empty text"),
        (lambda r: r["messages"][1]["content"][0].pop("text"), "messages[1].content[0].text", "needs a 'text'"),
        (lambda r: r["messages"][1].update(role="bot"), "messages[1].role", "must be 'system', 'user' or 'assistant'"),
        (lambda r: r["messages"][1].update(content=[]), "messages[1].content", "must not be empty"),
        (lambda r: r.update(id=7), "id", "must be a string, got integer"),
        (lambda r: r.update(id="  "), "id", "must not be empty"),
        (lambda r: r.update(langauge="fr"), "langauge", "unknown field (put extra information under 'meta')"),
        (lambda r: r.update(meta=[1]), "meta", "must be an object, got list"),
        (lambda r: r.update(images=[{"bytes": "aGk="}]), "images[0]", "must be binary"),
        (lambda r: r["messages"][0]["content"][0].update(text="x"), "messages[0].content[0].text", "carries no text"),
    ],
)
def test_invalid_fields_are_named(mutate, field: str, text: str) -> None:
    raw = record("r")
    mutate(raw)
    with pytest.raises(RecordValidationError) as caught:
        validate_record(raw)
    fields = {issue.field: issue.message for issue in caught.value.issues}
    assert field in fields, fields
    assert text in fields[field]


def test_images_only_in_user_turns() -> None:
    raw = record("r", images=["a.png", "b.png"])
    raw["messages"][1]["content"].append({"type": "image"})
    with pytest.raises(RecordValidationError, match=r"messages\[1\]: image parts belong in user turns"):
        validate_record(raw)


def test_a_non_object_is_rejected() -> None:
    with pytest.raises(RecordValidationError, match="a record must be an object, got list"):
        validate_record([1, 2])


def test_parquet_shapes_are_accepted() -> None:
    """As Parquet gives a record back: image parts with text None, {bytes, path} images, meta as JSON text."""
    raw = record("r", images=[{"bytes": b"\x89PNG", "path": "a.png"}], meta=json.dumps({"parent": "p"}))
    raw["messages"][0]["content"][0]["text"] = None
    parsed = validate_record(raw)
    assert parsed.images == [EmbeddedImage(bytes=b"\x89PNG", path="a.png")]
    assert parsed.meta == {"parent": "p"}
    assert parsed.has_embedded_images()
    # A struct without bytes is a reference to a file.
    assert validate_record(record("r", images=[{"bytes": None, "path": "a.png"}])).images == ["a.png"]


def test_helpers() -> None:
    raw = record("r", images=["a.png", "b.png"])
    raw["messages"][0]["content"].append({"type": "text", "text": "Be brief."})
    raw["messages"] += [{"role": "user", "content": "More?"}, {"role": "assistant", "content": "No."}]
    parsed = validate_record(raw)
    assert parsed.image_count() == 2
    assert parsed.image_paths() == ["a.png", "b.png"]
    assert parsed.user_prompt_text() == "What?\nBe brief."
    assert parsed.assistant_texts() == ["A red square.", "No."]


def test_to_dict_round_trips() -> None:
    raw = record("r", meta={"teacher": "m", "steps": [1, 2]})
    parsed = validate_record(raw)
    assert parsed.to_dict() == raw
    assert validate_record(json.loads(json.dumps(parsed.to_dict()))) == parsed
    assert isinstance(validate_record(parsed), ConversationRecord)


def test_constants() -> None:
    assert TASKS == (
        "captioning",
        "vqa",
        "ocr",
        "chart",
        "table",
        "reasoning",
        "textbook",
        "multi_image",
        "screenshot_code",
        "text",
    )
    assert BUCKETS == ("original", "synthetic_en", "multilingual", "text")
