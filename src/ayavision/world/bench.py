"""The world's benchmarks for ``ayavision.evaluate``: ``world-vqa`` (images) and ``world-text``, and their metric.

Both read shapes-world datasets in the conversation format (``make_world_dataset``, ``make_text_task``):
the user turn is the prompt, the assistant turn the gold answer. Registered on ``import ayavision.world``.
"""

from __future__ import annotations

from ayavision.evaluate.benchmarks import Benchmark, register_benchmark
from ayavision.evaluate.fields import RowFields
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.metrics import register_metric
from ayavision.languages import Language


def _text_of(fields: RowFields, role: str) -> str:
    messages = fields.row.values.get("messages")
    if not isinstance(messages, list):
        raise fields.error("messages", "expected a list of chat messages")
    for message in messages:
        if isinstance(message, dict) and message.get("role") == role:
            content = message.get("content")
            if isinstance(content, str):
                return content
            texts = [p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text"]
            if texts:
                return "\n".join(str(t) for t in texts)
    raise fields.error("messages", f"no {role} text")


WORLD_METRIC = "world-answer"


def world_answer(prediction: str, item: BenchItem) -> bool:
    """The world's answer rule: the gold short answer, in full or as the first sentence says it."""
    from ayavision.world.oracle import answers_right

    return answers_right(prediction, item.answers[0], item.question, item.language)


def parse_world_record(fields: RowFields, lang: Language, bench: str) -> list[BenchItem]:
    """One item per record, scored by ``world-answer`` (free-form answers are judged pairwise)."""
    prompt = _text_of(fields, "user")
    answer = _text_of(fields, "assistant")
    images = fields.images("images", required=False)
    task = fields.text("task", required=False)
    return [
        BenchItem(
            id=f"{lang.nllb}/{fields.text('id')}",
            bench=bench,
            language=lang.nllb,
            prompt=prompt,
            question=prompt,
            images=images,
            reference=answer,
            category=task,
            metric=WORLD_METRIC,
            answers=(answer,),
            where=fields.row.where,
        )
    ]


WORLD_BENCHMARKS = (
    Benchmark(
        name="world-vqa",
        kind="academic",
        parse=parse_world_record,
        fields="id, images, messages, language, task (a shapes-world dataset: ayavision world data)",
        hub="(generated locally: ayavision world data)",
        registry_languages_only=True,
        has_images=True,
    ),
    Benchmark(
        name="world-text",
        kind="academic",
        parse=parse_world_record,
        fields="id, messages, language (the shapes-world text task: ayavision world text-task)",
        hub="(generated locally: ayavision world text-task)",
        registry_languages_only=True,
        has_images=False,
    ),
)


def register_world_benchmarks() -> None:
    # Registering the same metric or an equal benchmark again is a no-op: calling this twice is harmless.
    register_metric(WORLD_METRIC)(world_answer)
    for bench in WORLD_BENCHMARKS:
        register_benchmark(bench)
