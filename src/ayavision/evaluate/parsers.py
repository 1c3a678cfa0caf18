"""How a raw row of each benchmark becomes items: fields read, prompt built, gold answer and images attached."""

from __future__ import annotations

from ayavision.evaluate.choices import MAX_OPTIONS, format_choice_prompt
from ayavision.evaluate.fields import RowFields, parse_literal
from ayavision.evaluate.items import BenchItem
from ayavision.languages import Language

SHORT_ANSWER = "Answer the question using a single word or phrase."


def _item(fields: RowFields, lang: Language, bench: str, local_id: str, **kwargs) -> BenchItem:
    return BenchItem(id=f"{lang.nllb}/{local_id}", bench=bench, language=lang.nllb, where=fields.row.where, **kwargs)


def parse_aya_vision_bench(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    prompt = fields.text("prompt")
    return [
        _item(
            fields,
            lang,
            bench,
            fields.text("index"),
            prompt=prompt,
            question=prompt,
            images=fields.images("image"),
            reference=fields.text("reference", required=False),
            category=fields.text("image_source_category", required=False),
            meta={"image_source": fields.text("image_source", required=False) or ""},
        )
    ]


def parse_wildvision(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    prompt = fields.text("prompt", "instruction", "question")
    return [
        _item(
            fields,
            lang,
            bench,
            fields.text("question_id", "id", "index"),
            prompt=prompt,
            question=prompt,
            images=fields.images("image", "images"),
            reference=fields.text("reference", required=False),
            category=fields.text("category", required=False),
        )
    ]


def parse_arenahard(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    prompt = fields.text("prompt")
    return [
        _item(
            fields,
            lang,
            bench,
            fields.text("question_id"),
            prompt=prompt,
            question=prompt,
            category=fields.text("category"),
            meta={"cluster": fields.text("cluster", required=False) or ""},
        )
    ]


def _choice_item(
    fields: RowFields, lang: Language, bench: str, local_id: str, question: str, options: list[str], answer: int, **kw
) -> BenchItem:
    if not 2 <= len(options) <= MAX_OPTIONS:
        raise fields.error("options", f"expected 2 to {MAX_OPTIONS} options, got {len(options)}")
    if not 0 <= answer < len(options):
        raise fields.error("answer", f"answer index {answer} is outside the {len(options)} options")
    return _item(
        fields,
        lang,
        bench,
        local_id,
        prompt=format_choice_prompt(question, options),
        question=question,
        metric="choice",
        choices=tuple(options),
        answer_index=answer,
        **kw,
    )


def parse_cvqa(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    label = fields.integer("Label")
    if label < 0:
        return []  # the hidden-label test rows: counted as "no gold answer" by the loader
    return [
        _choice_item(
            fields,
            lang,
            bench,
            fields.text("ID"),
            fields.text("Question"),
            fields.text_list("Options"),
            label,
            images=fields.images("image"),
            category=fields.text("Category", required=False),
        )
    ]


def parse_xmmmu(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    image_fields = [f"image_{i}" for i in range(1, 8) if fields.has(f"image_{i}")]
    images = tuple(ref for name in image_fields for ref in fields.images(name))
    question = fields.text("question")
    local_id = fields.text("id")
    answer = fields.text("answer").strip()
    qtype = (fields.text("question_type", required=False) or "multiple-choice").strip()
    if qtype != "multiple-choice":
        # MMMU's open questions have a short gold answer: scored as contained in the prediction.
        prompt = f"{question}\n{SHORT_ANSWER}"
        kw = {"metric": "contains", "answers": (answer,)}
        return [_item(fields, lang, bench, local_id, prompt=prompt, question=question, images=images, **kw)]
    options = fields.text_list("options")
    letter = answer.upper()
    if len(letter) != 1 or not "A" <= letter <= chr(ord("A") + len(options) - 1):
        raise fields.error("answer", f"expected an option letter A-{chr(ord('A') + len(options) - 1)}, got {answer!r}")
    return [
        _choice_item(
            fields,
            lang,
            bench,
            local_id,
            question,
            options,
            ord(letter) - ord("A"),
            images=images,
            category=fields.text("subfield", required=False),
        )
    ]


def parse_kaleidoscope(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    options = fields.text_list("options")
    return [
        _choice_item(
            fields,
            lang,
            bench,
            str(fields.row.ordinal),  # rows have no id of their own; the row's position in the dataset is stable
            fields.text("question"),
            options,
            fields.integer("answer"),
            images=fields.images("image", required=False),
            category=fields.text("category_en", required=False),
        )
    ]


def parse_maxm(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    question = fields.text("question")
    answers = [a for a in fields.text_list("answers") if a.strip()]
    if not answers:
        raise fields.error("answers", "holds no answer")
    return [
        _item(
            fields,
            lang,
            bench,
            fields.text("question_id"),
            prompt=f"{question}\n{SHORT_ANSWER}",
            question=question,
            images=fields.images("image"),
            metric="exact",
            answers=tuple(answers),
        )
    ]


def parse_mtvqa(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    raw = fields.row.values.get("qa_pairs")
    pairs = parse_literal(raw) if isinstance(raw, str) else raw
    if not isinstance(pairs, list) or not pairs:
        raise fields.error("qa_pairs", "expected a non-empty list of {question, answer} objects")
    images = fields.images("image")
    items = []
    for index, pair in enumerate(pairs):
        if not isinstance(pair, dict) or not str(pair.get("question", "")).strip() or pair.get("answer") is None:
            raise fields.error(f"qa_pairs[{index}]", "expected an object with a question and an answer")
        question = str(pair["question"]).strip()
        items.append(
            _item(
                fields,
                lang,
                bench,
                f"{fields.text('id')}/{index}",
                prompt=f"{question}\n{SHORT_ANSWER}",
                question=question,
                images=images,
                metric="contains",
                answers=(str(pair["answer"]),),
            )
        )
    return items


TEXT_SKILL_METRICS = ("contains", "exact")


def parse_text_skill(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    """A question with short accepted answers and the rule that scores it (``contains`` or ``exact``)."""
    prompt = fields.text("prompt")
    answers = fields.text_list("answers")
    metric = fields.text("metric")
    if metric not in TEXT_SKILL_METRICS:
        raise fields.error("metric", f"expected one of {', '.join(TEXT_SKILL_METRICS)}, got {metric!r}")
    return [
        _item(
            fields,
            lang,
            bench,
            fields.text("id"),
            prompt=prompt,
            question=prompt,
            category=fields.text("category", required=False),
            metric=metric,
            answers=tuple(answers),
            reference=answers[0],
        )
    ]
