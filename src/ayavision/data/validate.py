"""Check a whole dataset against the record contract and report every problem, never just the first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ayavision.data.errors import ImageError, RecordValidationError
from ayavision.data.images import DEFAULT_MAX_PIXELS, open_image, read_image_bytes
from ayavision.data.io import Location, ParseError, dataset_files, dataset_root, iter_raw_records
from ayavision.data.record import EmbeddedImage, parse_images, validate_record


@dataclass(frozen=True)
class Problem:
    """One thing wrong, at one place: printed as ``FILE:LINE: [id] message``."""

    location: Location
    message: str
    record_id: str | None = None

    @property
    def file(self) -> Path:
        return self.location.file

    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def row(self) -> int | None:
        return self.location.row

    def __str__(self) -> str:
        label = f" [{self.record_id}]" if self.record_id is not None else ""
        return f"{self.location}:{label} {self.message}"


@dataclass
class ValidationReport:
    """What ``validate_dataset`` found: how many records it checked and every problem, in file order."""

    path: Path
    files: list[Path] = field(default_factory=list)
    records_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def records_with_problems(self) -> int:
        return len({p.location for p in self.problems if p.location.is_record})

    def summary(self) -> str:
        checked = f"{self.records_checked} record(s) in {len(self.files)} file(s)"
        if self.ok:
            return f"OK: {checked}, no problems"
        return f"{len(self.problems)} problem(s) in {self.records_with_problems} of {checked}"


class _ImageChecker:
    """Checks each image once: a file named by many records is decoded a single time."""

    def __init__(self, root: Path, max_pixels: int | None) -> None:
        self.root = root
        self.max_pixels = max_pixels
        self._verdicts: dict[str, str | None] = {}

    def problem(self, image: str | EmbeddedImage) -> str | None:
        if isinstance(image, EmbeddedImage):
            return self._decode(image.bytes, "embedded image")
        if image not in self._verdicts:
            try:
                data = read_image_bytes(self.root, image)
            except ImageError as err:
                self._verdicts[image] = str(err)
            else:
                self._verdicts[image] = self._decode(data, repr(image))
        return self._verdicts[image]

    def _decode(self, data: bytes, label: str) -> str | None:
        try:
            open_image(data, label=label, max_pixels=self.max_pixels)
        except ImageError as err:
            return str(err)
        return None


def validate_dataset(
    path: str | Path,
    root: str | Path | None = None,
    check_images: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> ValidationReport:
    """Check every record of a JSONL/Parquet file or shard folder; image paths resolve under ``root``.

    ``root`` defaults to the dataset folder (or the folder holding the file). With ``check_images``,
    every image is read and decoded within ``max_pixels``.
    """
    path = Path(path)
    report = ValidationReport(path=path, files=dataset_files(path))
    images = _ImageChecker(Path(root) if root is not None else dataset_root(path), max_pixels)
    first_seen: dict[str, Location] = {}

    for location, raw in iter_raw_records(path):
        if location.is_record:
            report.records_checked += 1
        if isinstance(raw, ParseError):
            report.problems.append(Problem(location, raw.message))
            continue
        record_id = raw.get("id") if isinstance(raw.get("id"), str) and raw["id"].strip() else None
        if record_id is not None:
            if record_id in first_seen:
                message = f"duplicate id {record_id!r} (first seen at {first_seen[record_id]})"
                report.problems.append(Problem(location, message, record_id))
            else:
                first_seen[record_id] = location
        try:
            record_images = validate_record(raw).images
        except RecordValidationError as err:
            report.problems.extend(Problem(location, str(issue), record_id) for issue in err.issues)
            # Images are checked even when another field failed, so one run reports everything.
            record_images = parse_images(raw.get("images", [])) or []
        except RecursionError:
            # A value nested deeper than the interpreter's stack: one bad record, not the end of the report.
            report.problems.append(Problem(location, "nested too deeply to validate", record_id))
            record_images = []
        if check_images:
            for index, image in enumerate(record_images):
                problem = images.problem(image)
                if problem is not None:
                    report.problems.append(Problem(location, f"images[{index}]: {problem}", record_id))
    return report
