"""The benchmarks the recipe is judged on: their schemas, how a row becomes items, and loading from local files.

Pairwise (judged) benchmarks: ``aya-vision-bench`` (NLLB-coded configs; ``image`` is a LIST of images),
``m-wildvision`` (images) and ``m-arenahard`` (text only; ISO-coded configs). Their rows must be in one of the
23 languages: any other language is an error.

Academic (scored) benchmarks: ``cvqa``, ``xmmmu``, ``kaleidoscope`` (multiple choice), ``maxm`` (exact match
after normalisation) and ``mtvqa`` (answer contained in the prediction). They cover languages outside the 23;
such rows are skipped and counted in the load summary, never dropped silently. ``text-skills`` is a text LLM's
factual and instruction skill, short answers scored by containment or exact match (the set ships with the
experiments: recipes/experiments/text-skills.jsonl).

Each benchmark also says how its real download differs from a plain table: the splits it scores
(``SplitFilter``: MTVQA's test split, MaXM without its yes/no splits), other names its fields had in earlier
revisions (``FieldAlias``), where its images really are (``ImageArchive``: Kaleidoscope's ``data.zip``), and
the label value of a revision that withholds its labels (``WithheldLabels``: CVQA's ``Label`` -1).

``load_benchmark(name, path)`` checks every row against its benchmark's schema and raises a
``BenchmarkDataError`` naming the file, the row and the field on the first bad one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ayavision.errors import ConfigError
from ayavision.evaluate import parsers
from ayavision.evaluate.fields import FieldAlias, ImageArchive, ImageFinder, RowFields
from ayavision.evaluate.items import BenchItem
from ayavision.evaluate.sources import (
    BenchmarkDataError,
    BenchmarkSource,
    Row,
    SplitFilter,
    data_root,
    language_of,
)
from ayavision.languages import Language, get_language
from ayavision.utils.registry import Registry

# parse(fields, language, benchmark name) -> the row's items (none for a row without a gold answer)
Parser = Callable[[RowFields, Language, str], list[BenchItem]]


@dataclass(frozen=True)
class WithheldLabels:
    """The value a label field holds where a revision withholds its labels: if every row has it, none is scored."""

    field: str
    value: Any
    advice: str  # what to download instead

    def matches(self, row: Row) -> bool:
        value = row.values.get(self.field)
        return value is not None and str(value).strip() == str(self.value)


@dataclass(frozen=True)
class Benchmark:
    name: str
    kind: str  # "pairwise" or "academic"
    parse: Parser
    fields: str  # the schema, for error messages and `ayavision eval benchmarks`
    hub: str  # where to fetch it once (README)
    registry_languages_only: bool  # True: a row in another language is an error, not a skip
    has_images: bool = True
    aliases: tuple[str, ...] = ()
    splits: SplitFilter | None = None  # the splits it scores; None: every part of the download
    field_aliases: tuple[FieldAlias, ...] = ()
    image_archives: tuple[ImageArchive, ...] = ()
    withheld_labels: WithheldLabels | None = None


class UnknownBenchmarkError(ConfigError):
    """A benchmark name that is not in the registry."""


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def register_benchmark(bench: Benchmark) -> Benchmark:
    """Make a benchmark available by name, e.g. from a plug-in such as the shapes world."""
    return BENCHMARKS.add(bench.name, bench)


for _bench in (
    Benchmark(
        name="aya-vision-bench",
        kind="pairwise",
        parse=parsers.parse_aya_vision_bench,
        fields="index, prompt (or question), image (a list), reference, image_source, image_source_category, language",
        hub="CohereLabs/AyaVisionBench",
        registry_languages_only=True,
        aliases=("ayavisionbench",),
        # The integer ``index`` of those revisions needs no alias: ids are read as text from strings or integers.
        field_aliases=(FieldAlias("prompt", "question", "earlier revisions of CohereLabs/AyaVisionBench"),),
    ),
    Benchmark(
        name="m-wildvision",
        kind="pairwise",
        parse=parsers.parse_wildvision,
        fields="question_id (or id), prompt (or instruction), image",
        hub="CohereLabs/m-WildVision",
        registry_languages_only=True,
        aliases=("mwildvision", "wildvision"),
    ),
    Benchmark(
        name="m-arenahard",
        kind="pairwise",
        parse=parsers.parse_arenahard,
        fields="question_id, category, cluster, prompt",
        hub="CohereLabs/m-ArenaHard",
        registry_languages_only=True,
        has_images=False,
        aliases=("marenahard", "arenahard"),
    ),
    Benchmark(
        name="cvqa",
        kind="academic",
        parse=parsers.parse_cvqa,
        fields="ID, Subset (language), Question, Options, Label, image",
        hub="afaji/cvqa",
        registry_languages_only=False,
        withheld_labels=WithheldLabels(
            "Label",
            -1,
            "the public afaji/cvqa test split withholds its labels (Label -1 on every row), and a row with Label -1 "
            "cannot be scored: use a revision or copy of CVQA that carries the labels (see the README)",
        ),
    ),
    Benchmark(
        name="xmmmu",
        kind="academic",
        parse=parsers.parse_xmmmu,
        fields="id, question, options, answer (letter), question_type, image_1..image_7",
        hub="neulab/PangeaBench-xmmmu",
        registry_languages_only=False,
    ),
    Benchmark(
        name="kaleidoscope",
        kind="academic",
        parse=parsers.parse_kaleidoscope,
        fields="language, question, options, answer (index), image (path; read from data.zip if not on disk)",
        hub="CohereLabs/kaleidoscope",
        registry_languages_only=False,
        # The rows say data/<source>/images/x.png; the hub ships those files in data.zip as final_data/...
        image_archives=(ImageArchive("data/", "final_data/", "data.zip"),),
    ),
    Benchmark(
        name="maxm",
        kind="academic",
        parse=parsers.parse_maxm,
        fields="question_id, question, answers, language, image",
        hub="floschne/maxm",
        registry_languages_only=False,
        # The hub holds a yes/no variant of each language split; harnesses score the 7 language splits only.
        splits=SplitFilter(drop=("*_yesno",), why="maxm scores the language splits, not the yes/no ones"),
    ),
    Benchmark(
        name="mtvqa",
        kind="academic",
        parse=parsers.parse_mtvqa,
        fields="id, lang, qa_pairs, image",
        hub="ByteDance/MTVQA",
        registry_languages_only=False,
        # The download holds the train split too (several times the test split); harnesses score test only.
        splits=SplitFilter(keep=("test",), why="mtvqa scores the test split only"),
    ),
    Benchmark(
        name="text-skills",
        kind="academic",
        parse=parsers.parse_text_skill,
        fields="id, language, prompt, answers (a list), metric (contains | exact), category",
        hub="(shipped: recipes/experiments/text-skills.jsonl)",
        registry_languages_only=True,
        has_images=False,
    ),
):
    register_benchmark(_bench)


def _key(name: str) -> str:
    return name.casefold().replace("-", "").replace("_", "")


def get_benchmark(name: str) -> Benchmark:
    for bench in BENCHMARKS.values():
        if _key(name) in (_key(bench.name), *bench.aliases):
            return bench
    raise UnknownBenchmarkError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")


@dataclass
class LoadedBenchmark:
    """The items of a benchmark and an account of every row that did not become one."""

    bench: Benchmark
    path: Path
    items: list[BenchItem]
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    rows: int = 0

    def by_id(self) -> dict[str, BenchItem]:
        return {item.id: item for item in self.items}

    def summary(self) -> str:
        text = f"{len(self.items)} item(s) from {self.rows} row(s) of {self.bench.name} in {self.path}"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))
        return text


def _row_language(row: Row, fields: RowFields, bench: Benchmark, forced: Language | None) -> Language | None:
    if forced is not None:
        return forced
    for name in ("language", "lang", "Subset"):
        value = row.values.get(name)
        if value not in (None, ""):
            lang = language_of(value) or row.path_language  # a name the registry lacks; the config folder may tell
            if lang is None and bench.registry_languages_only:
                raise fields.error(name, f"{value!r} is not one of the 23 languages (NLLB or ISO 639-1 code)")
            return lang
    if row.path_language is not None:
        return row.path_language
    raise BenchmarkDataError(
        f"{row.where}: cannot tell the row's language: no 'language' field and no language code in the path; "
        "pass the language explicitly"
    )


def _check_labels(loaded: LoadedBenchmark, withheld: int, read: int) -> None:
    rule = loaded.bench.withheld_labels
    if rule is not None and read and withheld == read:
        raise BenchmarkDataError(
            f"{loaded.path}: every one of the {read} row(s) has {rule.field} = {rule.value!r}: this revision of "
            f"{loaded.bench.hub} withholds its labels, so nothing can be scored; {rule.advice}"
        )


def load_benchmark(
    name: str,
    path: str | Path,
    languages: Iterable[str] | None = None,
    language: str | None = None,
    splits: Iterable[str] | None = None,
) -> LoadedBenchmark:
    """Read and check a benchmark from local files.

    ``languages`` keeps only those languages (NLLB or ISO codes; others are counted as "not selected").
    ``language`` sets the language of every row, for files that name none.
    ``splits`` (names or ``fnmatch`` patterns) replaces the benchmark's own choice of scored splits; ``["*"]``
    reads every split. Rows of the splits left out are counted as skipped.
    """
    bench = get_benchmark(name)
    path = Path(path)
    wanted = {get_language(code).nllb for code in languages} if languages else None
    forced = get_language(language) if language else None
    if isinstance(splits, str):
        splits = (splits,)  # one split name, not its letters
    chosen = SplitFilter(keep=tuple(splits), why="not among the splits asked for") if splits is not None else None
    source = BenchmarkSource(path, chosen or bench.splits)
    root = data_root(path)
    finder = ImageFinder(root, bench.image_archives)
    loaded = LoadedBenchmark(bench, path, [])
    for part in source.skipped:
        loaded.rows += part.rows
        loaded.skipped[part.reason] += part.rows
    seen: dict[str, str] = {}
    read = withheld = 0
    for row in source.rows():
        loaded.rows += 1
        read += 1
        withheld += bench.withheld_labels is not None and bench.withheld_labels.matches(row)
        fields = RowFields(row, root, aliases=bench.field_aliases, finder=finder)
        lang = _row_language(row, fields, bench, forced)
        if lang is None:
            loaded.skipped["outside the 23 languages"] += 1
            continue
        if wanted is not None and lang.nllb not in wanted:
            loaded.skipped["not selected"] += 1
            continue
        items = bench.parse(fields, lang, bench.name)
        if not items:
            loaded.skipped["without a gold answer"] += 1
        for item in items:
            if item.id in seen:
                raise BenchmarkDataError(f"{row.where}: duplicate item id {item.id!r} (first at {seen[item.id]})")
            seen[item.id] = row.where
            loaded.items.append(item)
    _check_labels(loaded, withheld, read)
    if not loaded.items:
        raise BenchmarkDataError(f"{path}: no usable items for {bench.name} ({loaded.summary()})")
    return loaded
