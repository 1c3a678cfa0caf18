"""Shapes-world datasets in the conversation format: images with their scene graph, short answers, any language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ayavision.data import ConversationRecord, image_part, text_part, write_jsonl
from ayavision.languages import get_language
from ayavision.utils.progress import progress_bar
from ayavision.world.cache import building, cached
from ayavision.world.config import DatasetConfig
from ayavision.world.render import save_scene
from ayavision.world.scene import Difference, Scene, edit_scene, sample_scene, seeded_rng
from ayavision.world.tasks import RECORD_TASK, Question, more_questions, original_answer, pick_question

SOURCE = "shapes-world"
DATA_FILE = "data.jsonl"
_MAX_TRIES = 50  # scenes redrawn until one offers the task a question (rarely more than one or two)


def _json_value(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, Difference) else value


def make_item(config: DatasetConfig, index: int) -> tuple[list[Scene], list[Question], str, str]:
    """Item ``index`` of a dataset: its scene(s), question(s), task and language (independent of ``n``)."""
    pick = seeded_rng(config.seed, "item", index)
    task = pick.choice(config.tasks)
    language = pick.choice(config.languages)
    for attempt in range(_MAX_TRIES):
        rng = seeded_rng(config.seed, "scene", index, attempt)
        base = f"w{config.seed}-{index:06d}" + (f"-{attempt}" if attempt else "")
        scene = sample_scene(rng, base, config.scene, with_text=task == "ocr")
        scenes = [scene]
        if task == "difference":
            edited = edit_scene(rng, scene, base + "b")
            if edited is None:
                continue
            scenes.append(edited[0])
        question = pick_question(rng, task, scenes)
        if question is not None:
            return (
                scenes,
                [question, *more_questions(rng, task, scenes, question, config.questions - 1)],
                task,
                language,
            )
    raise RuntimeError(f"no {task} question found for item {index} in {_MAX_TRIES} scenes")  # pragma: no cover


def _turn_meta(question: Question) -> dict[str, Any]:
    return {
        "frame": question.frame,
        "slots": question.slots,
        "answer_kind": question.kind,
        "answer": _json_value(question.answer),
    }


def make_record(config: DatasetConfig, index: int, image_dir: str = "images") -> tuple[ConversationRecord, list[Scene]]:
    scenes, questions, task, language = make_item(config, index)
    messages: list[dict[str, Any]] = []
    for turn, question in enumerate(questions):
        # The first turn keeps the single-question dataset's wording draw: one question per record is unchanged.
        wording = seeded_rng(config.seed, "wording", index, *([turn] if turn else []))
        images = [image_part() for _ in scenes] if turn == 0 else []
        messages += [
            {"role": "user", "content": [*images, text_part(question.text(language, wording.randrange(4)))]},
            {"role": "assistant", "content": [text_part(original_answer(question, scenes, language))]},
        ]
    bucket = config.bucket or ("original" if language == "eng_Latn" else "multilingual")
    world: dict[str, Any] = {"task": task, **_turn_meta(questions[0])}
    if len(questions) > 1:
        world["turns"] = [_turn_meta(q) for q in questions]
    record = ConversationRecord(
        id=f"world/{config.seed}/{index:06d}",
        images=[f"{image_dir}/{scene.id}.png" for scene in scenes],
        messages=messages,
        language=language,
        task=RECORD_TASK[task],
        source=SOURCE,
        bucket=bucket,
        meta={
            "world": {
                **world,
                "scene_ids": [scene.id for scene in scenes],
                "direction": get_language(language).direction,
            }
        },
    )
    return record, scenes


def make_world_dataset(
    out: str | Path, config: DatasetConfig | None = None, *, progress: bool = False, **settings: Any
) -> dict[str, Any]:
    """Write ``out/data.jsonl`` and ``out/images/*.png``; reuse ``out`` when it holds this config already.

    ``make_world_dataset(out, n=200, seed=0, tasks=["vqa"], languages="all")`` or with a ``DatasetConfig``.
    Returns the summary stored in ``out/world.json`` (counts by task and language).
    """
    config = config or DatasetConfig(**settings)
    done = cached(out, "dataset", config)
    if done is not None:
        return done
    counts: dict[str, dict[str, int]] = {"task": {}, "language": {}}
    with building(out, "dataset", config) as (tmp, finish):
        records = []
        with progress_bar("rendering scenes", config.n, enabled=progress) as advance:
            for index in range(config.n):
                record, scenes = make_record(config, index)
                for scene, path in zip(scenes, record.image_paths(), strict=True):
                    save_scene(scene, tmp / path)
                records.append(record)
                world = record.meta["world"]
                counts["task"][world["task"]] = counts["task"].get(world["task"], 0) + 1
                counts["language"][record.language] = counts["language"].get(record.language, 0) + 1
                advance()
        write_jsonl(records, tmp / DATA_FILE, overwrite=True)
        return finish(records=len(records), data=DATA_FILE, counts=counts)


def dataset_path(out: str | Path) -> Path:
    return Path(out) / DATA_FILE
