"""Typed stage outputs: what each recipe stage produced (paths and facts), and the references recipes name them by.

Every stage returns an artifact; the engine records it in the stage's ``stage.json`` and ``DONE`` (paths inside
the run folder written as ``{run}/...``, so a finished stage copied into another run folder stays valid) and hands
the artifacts of the stages before it to a stage as ``StageContext.inputs``. A recipe names an upstream output by
stage and key, never by a run-folder path:

- ``{data.original}``, ``{data.bench.<name>}``, ``{data.parts.<name>}``, ``{data.<dataset>}`` (e.g. ``{data.text}``);
- ``{annotate.<step>}``: an annotation step's output dataset, by its ``id`` or, when only one step has that
  kind, by its kind (``{annotate.filter}`` still finds a filter step renamed ``id: keep``); ``{annotate.final}``;
- ``{model.vlm}``, ``{align.model}``, ``{sft.model}``, ``{merge.alpha-0.4}``, ``{merge.chosen}``, ...

The engine resolves a stage's references when it runs; a reference to a stage that does not come before it, or to
a key its artifact does not have, is an error that lists what there is.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ayavision.errors import ConfigError
from ayavision.recipe.signatures import SignatureCache, content_signature

RUN = "{run}"
# {stage.key} with a dotted key; `{run}` (no dot) and format fields like `{question}` are not references.
REFERENCE = re.compile(r"\{([A-Za-z][\w-]*)\.([\w.-]+)\}")


class Artifact(BaseModel):
    """What a stage produced. ``summary``: the facts it reports (kept in DONE, shown by the run command)."""

    model_config = ConfigDict(extra="allow")

    summary: dict[str, Any] = Field(default_factory=dict)

    def refs(self) -> dict[str, Path]:
        """key -> path, for the recipe's ``{stage.key}`` references."""
        return {}


class DataArtifact(Artifact):
    original: Path = Field(description="the original dataset (file or folder of shards): the annotation input")
    format: str = Field("jsonl", description="jsonl, parquet or folder")
    bench: dict[str, Path] = Field(default_factory=dict, description="benchmark name -> its data file")
    parts: dict[str, Path] = Field(default_factory=dict, description="plug-in parts, e.g. a pretrained tokenizer")
    datasets: dict[str, Path] = Field(default_factory=dict, description="other datasets, e.g. text-only data")

    def refs(self) -> dict[str, Path]:
        return {
            "original": self.original,
            **self.datasets,
            **{f"bench.{name}": path for name, path in self.bench.items()},
            **{f"parts.{name}": path for name, path in self.parts.items()},
        }

    @classmethod
    def discover(cls, folder: Path, summary: dict[str, Any]) -> DataArtifact:
        """A data source that returned only its summary: its outputs found by the conventional layout
        (``original/``, ``bench/<name>/``, ``parts/<name>/``, any other folder as a dataset)."""

        def entries(sub: Path) -> dict[str, Path]:
            return {p.name: _data_file(p) for p in sorted(sub.iterdir()) if p.is_dir()} if sub.is_dir() else {}

        others = {
            p.name: p for p in sorted(folder.iterdir()) if p.is_dir() and p.name not in ("original", "bench", "parts")
        }
        original = folder / "original"
        return cls(
            original=original,
            format=dataset_format(original),
            bench=entries(folder / "bench"),
            parts={p.name: p for p in sorted((folder / "parts").iterdir())} if (folder / "parts").is_dir() else {},
            datasets=others,
            summary=summary,
        )


class AnnotateArtifact(Artifact):
    input: Path
    datasets: dict[str, Path] = Field(default_factory=dict, description="step name (its id) -> its output dataset")
    kinds: dict[str, str] = Field(default_factory=dict, description="step name -> step kind (recaption, filter...)")
    metrics: dict[str, Path] = Field(default_factory=dict, description="metrics step name -> its metrics.json")
    final: str | None = Field(None, description="the last step's name: the annotated dataset")

    def refs(self) -> dict[str, Path]:
        found = dict(self.datasets)
        for kind in set(self.kinds.values()):
            named = [name for name, of in self.kinds.items() if of == kind and name in self.datasets]
            if len(named) == 1 and kind not in found:
                found[kind] = self.datasets[named[0]]
        final = self.final or next(reversed(self.datasets), None)  # default: the last step's
        if final is not None:
            found.setdefault("final", self.datasets[final])
        return found

    def of_kind(self, kind: str) -> Path | None:
        """The output of the (first) step of this kind, or None."""
        return next((self.datasets[n] for n, of in self.kinds.items() if of == kind and n in self.datasets), None)


class ModelArtifact(Artifact):
    vlm: Path = Field(description="the composed checkpoint folder")

    def refs(self) -> dict[str, Path]:
        return {"vlm": self.vlm}


class TrainArtifact(Artifact):
    folder: Path = Field(description="the training folder (checkpoints, metrics; the next stage starts from it)")
    model: Path = Field(description="the trained model folder")
    metrics: Path = Field(description="metrics.jsonl: loss per step")

    def refs(self) -> dict[str, Path]:
        return {"folder": self.folder, "model": self.model, "metrics": self.metrics}


class MergeArtifact(Artifact):
    models: dict[str, Path] = Field(description="alpha-<a> -> merged folder; alpha-1.0 is the unmerged VLM")
    chosen: str = Field(description="the merge the recipe ships")
    text_llm: Path

    def refs(self) -> dict[str, Path]:
        return {**self.models, "chosen": self.models[self.chosen], "text-llm": self.text_llm}


class EvaluateArtifact(Artifact):
    folder: Path = Field(description="per benchmark <folder>/<bench>/<model>/answers.jsonl, scored.jsonl")
    results: Path = Field(description="summary.json: accuracies and win rates")

    def refs(self) -> dict[str, Path]:
        return {"folder": self.folder, "results": self.results}


class ReportArtifact(Artifact):
    markdown: Path
    html: Path
    headline: Path

    def refs(self) -> dict[str, Path]:
        return {"markdown": self.markdown, "html": self.html, "headline": self.headline}


class Inputs(dict[str, Artifact]):
    """The artifacts of the finished stages before a stage, by stage name, with typed access."""

    def _typed(self, name: str, kind: type[Artifact]) -> Any:
        found = self.get(name)
        return found if isinstance(found, kind) else None

    @property
    def data(self) -> DataArtifact | None:
        return self._typed("data", DataArtifact)

    @property
    def annotate(self) -> AnnotateArtifact | None:
        return self._typed("annotate", AnnotateArtifact)

    @property
    def model(self) -> ModelArtifact | None:
        return self._typed("model", ModelArtifact)

    def train(self, stage: str) -> TrainArtifact | None:
        return self._typed(stage, TrainArtifact)

    @property
    def merge(self) -> MergeArtifact | None:
        return self._typed("merge", MergeArtifact)

    @property
    def evaluate(self) -> EvaluateArtifact | None:
        return self._typed("evaluate", EvaluateArtifact)

    def references(self) -> dict[str, Path]:
        """``{stage.key}`` -> path for every finished stage's outputs."""
        return {f"{{{stage}.{key}}}": path for stage, art in self.items() for key, path in art.refs().items()}

    def resolve(self, value: Any, where: str = "") -> Any:
        """``value`` (a pydantic model, path, string, list or mapping) with every ``{stage.key}`` filled in."""
        table = self.references()

        def one(text: str) -> str:
            def fill(match: re.Match) -> str:
                if match.group(0) in table:
                    return str(table[match.group(0)])
                stage = match.group(1)
                if stage not in self:
                    return match.group(0)  # not a stage: a format field of some template, left alone
                keys = sorted(self[stage].refs())
                raise ConfigError(
                    f"{where or 'recipe'}: {match.group(0)}: stage {stage!r} has no output {match.group(2)!r}; "
                    f"it has: {', '.join(keys) or 'none'}"
                )

            return REFERENCE.sub(fill, text)

        return _substitute(value, one)


def references_in(value: Any) -> list[tuple[str, str]]:
    """Every ``(stage, key)`` a JSON-like value refers to."""
    found: list[tuple[str, str]] = []
    for text in _strings(value):
        found += [(m.group(1), m.group(2)) for m in REFERENCE.finditer(text)]
    return found


def _strings(value: Any):
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _substitute(value: Any, one) -> Any:
    if isinstance(value, Path):
        text = str(value)
        new = one(text)
        return value if new == text else Path(new)
    if isinstance(value, str):
        return one(value)
    if isinstance(value, BaseModel):
        updates = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _substitute(old, one)
            if new is not old and new != old:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, list | tuple):
        items = [_substitute(item, one) for item in value]
        return type(value)(items)
    if isinstance(value, dict):
        return {key: _substitute(item, one) for key, item in value.items()}
    return value


def dump_artifact(artifact: Artifact, run: Path) -> dict[str, Any]:
    """The artifact as JSON, with paths inside the run folder written as ``{run}/...``."""
    text = artifact.model_dump_json().replace(json.dumps(str(run))[1:-1], RUN)
    return {"type": type(artifact).__name__, **json.loads(text)}


def load_artifact(record: dict[str, Any], run: Path, kind: type[Artifact] | None = None) -> Artifact:
    """An artifact read back from a stage record, its ``{run}`` paths in ``run``."""
    record = dict(record)
    name = record.pop("type", None)
    kind = kind or ARTIFACT_TYPES.get(str(name), Artifact)
    text = json.dumps(record).replace(RUN, json.dumps(str(run))[1:-1])
    return kind.model_validate_json(text)


ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    kind.__name__: kind
    for kind in (
        Artifact,
        DataArtifact,
        AnnotateArtifact,
        ModelArtifact,
        TrainArtifact,
        MergeArtifact,
        EvaluateArtifact,
        ReportArtifact,
    )
}


def dataset_format(path: Path) -> str:
    if path.is_dir():
        kinds = {p.suffix for p in path.iterdir() if p.is_file()}
        return "parquet" if ".parquet" in kinds else "folder"
    return "parquet" if path.suffix == ".parquet" else "jsonl"


def _data_file(folder: Path) -> Path:
    """A dataset folder's single data.jsonl when it has one, else the folder."""
    return folder / "data.jsonl" if (folder / "data.jsonl").is_file() else folder


def input_signatures(settings: Any, run: Path | None, cache: SignatureCache | None = None) -> dict[str, str]:
    """path -> content signature for every existing absolute path in ``settings`` outside the run folder (a
    user's dataset, a checkpoint): editing one changes the fingerprint of every stage that reads it. Paths inside
    the run folder are upstream outputs: ``reference_signatures`` covers those a stage names."""
    found = {}
    for text in _strings(settings):
        if not os.path.isabs(text) or "\n" in text or len(text) > 4096:
            continue
        path = Path(text)
        if run is not None and path.is_relative_to(run):
            continue
        try:
            if path.exists():
                found[text] = content_signature(path, cache)
        except OSError:
            continue
    return found


def reference_signatures(settings: Any, inputs: Inputs, cache: SignatureCache | None = None) -> dict[str, str]:
    """``{stage.key}`` -> content signature (of every byte) of each upstream output ``settings`` names whose stage
    has finished (is in ``inputs``): a dataset edited by hand inside the run folder reruns the stages that read it.
    Keyed by the reference, never the path, so the same outputs in another run folder sign alike."""
    found = {}
    for stage, key in references_in(settings):
        artifact = inputs.get(stage)
        path = artifact.refs().get(key) if artifact is not None else None
        if path is not None and path.exists():
            found[f"{{{stage}.{key}}}"] = content_signature(path, cache, whole=True)
    return found
