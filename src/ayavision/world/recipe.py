"""The shapes world as a recipe plug-in: the ``shapes-world`` data source and the report's ground-truth section.

List ``ayavision.world.recipe`` under a recipe's ``plugins``. The data stage then produces (its artifact, named in
a recipe by these references):

- ``{data.original}``: short English answers, like the datasets the paper started from (the annotation input);
- ``{data.bench.world-vqa}`` and ``{data.bench.world-text}``: held-out evaluation sets (images; text only);
- ``{data.text}`` (with ``text_train``): text-only training records, for a recipe's ``text`` bucket;
- ``{data.parts.tokenizer}``, ``{data.parts.encoder}``, ``{data.parts.text-llm}``: the tiny pretrained parts the
  model composes from.

The report section measures what only the world knows: the filter's precision and recall against the teacher's
injected hallucinations, chrF of translation before and after rephrasing, and the parts' scores against chance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ayavision.errors import ConfigError
from ayavision.recipe.artifacts import DataArtifact, EvaluateArtifact, Inputs
from ayavision.recipe.config import RecipeConfig, register_data_source
from ayavision.recipe.evaluation import EvaluationSummary
from ayavision.recipe.report import register_report_section
from ayavision.utils.errors import format_validation_error
from ayavision.world.cache import MARKER
from ayavision.world.config import DatasetConfig, Strict
from ayavision.world.pretrain.configs import EncoderConfig, LLMConfig, TokenizerConfig

SOURCE = "shapes-world"


class HeldOut(Strict):
    n: int = Field(ge=1)
    seed: int = Field(description="use a seed the parts were not trained with")


class WorldSourceOptions(Strict):
    """``data.options`` of a recipe whose ``data.source`` is ``shapes-world``."""

    original: DatasetConfig = Field(description="the short English original data (the annotation input)")
    vqa_bench: DatasetConfig = Field(description="held-out image questions in every language (short answers)")
    text_bench: HeldOut = Field(description="held-out questions of the text task the text LLM learnt, all languages")
    text_train: HeldOut | None = Field(
        None,
        description="text-only training records (the text task, all languages) written to data/text, for a "
        "'text' bucket: the paper's text-only SFT data (use a seed other than the benchmark's)",
    )
    tokenizer: TokenizerConfig = TokenizerConfig()
    encoder: EncoderConfig = EncoderConfig()
    text_llm: LLMConfig = LLMConfig()
    progress: bool = Field(True, description="progress bars while the parts pretrain")
    shipped_parts: bool = Field(
        True, description="use the parts shipped with ayavision when these settings are theirs (else build them)"
    )


@register_data_source(SOURCE, options=WorldSourceOptions)
def shapes_world_source(options: dict[str, Any], out: Path) -> DataArtifact:
    """Generate the world data and benchmarks and pretrain the tiny parts (each cached by its config)."""
    from ayavision.world.dataset import make_world_dataset
    from ayavision.world.pretrain import pretrain_encoder, pretrain_text_llm, pretrain_tokenizer
    from ayavision.world.pretrain.shipped import install_shipped
    from ayavision.world.texttask import make_text_task

    try:
        settings = WorldSourceOptions.model_validate(options)
    except ValidationError as err:
        raise ConfigError(f"data.options: {format_validation_error(err)}") from None
    parts = out / "parts"
    original = make_world_dataset(out / "original", settings.original)
    vqa = make_world_dataset(out / "bench" / "world-vqa", settings.vqa_bench)
    held_out = settings.text_llm.task(settings.text_bench.n, seed=settings.text_bench.seed)
    text = make_text_task(out / "bench" / "world-text", held_out)
    text_train = None
    if settings.text_train is not None:
        train_task = settings.text_llm.task(settings.text_train.n, seed=settings.text_train.seed)
        text_train = make_text_task(out / "text", train_task, held_out=held_out)
    tokenizer = parts / "tokenizer"
    shipped = []
    if settings.shipped_parts and install_shipped("tokenizer", tokenizer, settings.tokenizer):
        shipped.append("tokenizer")
    pretrain_tokenizer(tokenizer, settings.tokenizer)
    for name, config in (("encoder", settings.encoder), ("text-llm", settings.text_llm)):
        if settings.shipped_parts and install_shipped(name, parts / name, config, tokenizer):
            shipped.append(name)
    encoder = pretrain_encoder(parts / "encoder", tokenizer, settings.encoder, progress=settings.progress)
    llm = pretrain_text_llm(parts / "text-llm", tokenizer, settings.text_llm, progress=settings.progress)
    summary = {
        "records": original["records"],
        "bench": {"world-vqa": vqa["records"], "world-text": text["records"]},
        "encoder_top1": encoder["image_to_text_top1"],
        "encoder_chance": encoder["chance_top1"],
        "text_llm_accuracy": llm["accuracy"],
        "text_llm_chance": llm["chance"],
        "shipped_parts": shipped,
        **({} if text_train is None else {"text_train": {k: text_train[k] for k in ("records", "held_out_prompts")}}),
    }
    return DataArtifact(
        original=out / "original",
        format="folder",
        bench={
            "world-vqa": out / "bench" / "world-vqa" / "data.jsonl",
            "world-text": out / "bench" / "world-text" / "data.jsonl",
        },
        parts={name: parts / name for name in ("tokenizer", "encoder", "text-llm")},
        datasets={} if text_train is None else {"text": out / "text"},
        summary=summary,
    )


def _read_json(path: Path | None) -> dict[str, Any]:
    """A JSON file another stage wrote, or {} when it is not there (that stage has not run)."""
    return json.loads(path.read_text(encoding="utf-8")) if path is not None and path.exists() else {}


def _part_summary(folder: Path) -> dict[str, Any] | None:
    return _read_json(folder / MARKER) or None


def _key(record) -> str:
    """A benchmark record's id as the evaluation writes it."""
    return f"{record.language}/{record.id}"


def _vqa_by_language(
    recipe: RecipeConfig, evaluate: EvaluateArtifact | None, vqa: Path, headline: dict[str, Any]
) -> list[str]:
    """world-vqa per language for the unmerged VLM and the shipped merge, against each language's guess level."""
    from ayavision.data import read_records
    from ayavision.world.measure import record_guess_odds

    if evaluate is None:
        return []
    scores = EvaluationSummary.read(evaluate.results).academic.get("world-vqa") or {}
    names = {"unmerged": "alpha-1.0", "merged": f"alpha-{recipe.merge.alpha}"}
    if not all(name in scores for name in names.values()):
        return []
    records = list(read_records(vqa))
    # Each question parsed once; free-form ones (no guess level) are left out, as guess_accuracy does.
    odds = {_key(r): odd for r in records if (odd := record_guess_odds(r)) is not None}
    languages = sorted({r.language for r in records})
    guess = {
        lang: _mean([odds[_key(r)] for r in records if r.language == lang and _key(r) in odds]) for lang in languages
    }
    rows, above = [], 0
    for lang in languages:
        unmerged = scores[names["unmerged"]].per_language[lang]
        merged = scores[names["merged"]].per_language[lang]
        above += unmerged > guess[lang]
        rows.append(f"| {lang} | {unmerged:.2f} | {merged:.2f} | {guess[lang]:.2f} |")
    headline["world-vqa_languages_above_guess"] = {"unmerged": above, "languages": len(languages)}
    return [
        f"- world-vqa per language: the unmerged VLM is above its language's guess level in {above} of "
        f"{len(languages)} languages.",
        "",
        f"| language | unmerged | alpha {recipe.merge.alpha} | guess |",
        "|---|---|---|---|",
        *rows,
        "",
        *_vqa_by_kind(evaluate, records, names, odds),
    ]


def _vqa_by_kind(evaluate: EvaluateArtifact, records: list, names: dict[str, str], odds: dict[str, float]) -> list[str]:
    """world-vqa per question kind (colour of a named shape, counts, places...): what the VLM sees and what not."""
    frames = {_key(r): r.meta.get("world", {}).get("frame", "?") for r in records}
    right: dict[str, dict[str, list[bool]]] = {}
    for column, name in names.items():
        scored = evaluate.folder / "world-vqa" / name / "scored.jsonl"
        if not scored.exists():
            return []
        for line in scored.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            right.setdefault(frames.get(item["id"], "?"), {}).setdefault(column, []).append(bool(item["correct"]))
    rows = []
    for frame in sorted(right):
        subset = [odds[key] for key, of in frames.items() if of == frame and key in odds]
        cells = [f"{sum(v) / len(v):.2f}" for v in (right[frame]["unmerged"], right[frame]["merged"])]
        rows.append(f"| {frame} | {len(right[frame]['unmerged'])} | {' | '.join(cells)} | {_mean(subset):.2f} |")
    return ["| question | n | unmerged | merged | guess |", "|---|---|---|---|---|", *rows, ""]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@register_report_section(SOURCE)
def world_report_section(recipe: RecipeConfig, inputs: Inputs, out: Path, headline: dict[str, Any]) -> list[str]:
    """Filter precision/recall, chrF before and after rephrasing, and the parts against chance."""
    from ayavision.world.measure import filter_quality, guess_accuracy, translation_quality

    data = inputs.data
    if recipe.data.source != SOURCE or data is None:
        return []
    lines = ["## Measured against the world's ground truth", ""]
    annotate = inputs.annotate
    recaptioned = annotate.of_kind("recaption") if annotate is not None else None
    kept = annotate.of_kind("filter") if annotate is not None else None
    if recaptioned is not None and kept is not None:
        quality = filter_quality(recaptioned, kept)
        headline["filter"] = quality
        lines += [
            f"- Filter: the teacher corrupted {quality['corrupted']} of {quality['records']} recaptions "
            f"({quality['injection_rate']:.1%}); the filter dropped {quality['flagged']} and caught "
            f"{quality['caught']}: precision {_fmt(quality['precision'])}, recall {_fmt(quality['recall'])}.",
        ]
    rephrased = annotate.of_kind("rephrase") if annotate is not None else None
    if rephrased is not None:
        chrf = translation_quality(rephrased)
        headline["chrf"] = {key: chrf[key] for key in ("texts", "chrf_mt", "chrf_rephrased")}
        lines += [
            f"- Translation: chrF against the natural sentences {_fmt(chrf['chrf_mt'])} for the literal machine "
            f"translation, {_fmt(chrf['chrf_rephrased'])} after rephrasing ({chrf['texts']} texts).",
            "",
            "| language | texts | chrF MT | chrF rephrased |",
            "|---|---|---|---|",
            *(
                f"| {lang} | {row['texts']} | {_fmt(row['chrf_mt'])} | {_fmt(row['chrf_rephrased'])} |"
                for lang, row in chrf["by_language"].items()
            ),
            "",
            "The demo's rephraser is an oracle that writes the natural sentence itself, so its chrF is an upper "
            "bound; what the table shows is how far literal translation is from natural text in each language.",
            "",
        ]
    vqa = data.bench.get("world-vqa")
    if vqa is not None:
        chance = guess_accuracy(vqa)
        headline["world-vqa_chance"] = chance
        lines.append(
            f"- world-vqa: a uniform guess among the answers each question allows scores {chance:.3f}; a model "
            "must beat it to show that it reads the images."
        )
        lines += _vqa_by_language(recipe, inputs.evaluate, vqa, headline)
    shipped = data.summary.get("shipped_parts") or []
    if shipped:
        lines.append(f"- Pretrained parts shipped with ayavision, not trained in this run: {', '.join(shipped)}.")
    encoder = _part_summary(data.parts["encoder"]) if "encoder" in data.parts else None
    llm = _part_summary(data.parts["text-llm"]) if "text-llm" in data.parts else None
    if encoder is not None:
        lines.append(
            f"- Pretrained encoder: image-to-caption top-1 retrieval {encoder['image_to_text_top1']:.3f} "
            f"(chance {encoder['chance_top1']:.3f})."
        )
    if llm is not None:
        scene = (
            f"; written-scene questions of every world-vqa kind {llm['scene_qa_accuracy']:.3f} "
            f"(chance {llm['scene_qa_chance']:.3f})"
            if "scene_qa_chance" in llm
            else ""
        )
        lines.append(
            f"- Pretrained text LLM: text-task accuracy {llm['accuracy']:.3f} (chance {llm['chance']:.3f}){scene}, "
            "on its own held-out questions."
        )
    return [*lines, ""]
