"""Merge a text LLM into an AyaVision model's language model: one alpha, or a sweep in one pass over the inputs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ayavision.merge.errors import MergeError
from ayavision.merge.methods import check_alphas, get_method
from ayavision.merge.plan import MergePlan, plan_merge
from ayavision.merge.record import HashCancelled, content_hashes, copy_support_files, write_record
from ayavision.merge.stream import DEFAULT_CHUNK_BYTES, StreamReport, stream_merge
from ayavision.merge.verify import verify_output
from ayavision.merge.writer import parse_size
from ayavision.utils.fs import OutputExistsError, atomic_dir

DEFAULT_ALPHA = 0.4  # the paper's: 0.4 of the multimodal model, 0.6 of the text LLM, for both sizes
OUTPUT_DTYPES = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}
FORMULA = "W = alpha * W_vlm + (1 - alpha) * W_text on the language model, in fp32; the rest copied from the VLM"

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass
class MergeOutcome:
    folders: dict[float, Path]  # alpha -> the model folder written for it
    plan: MergePlan
    stream: StreamReport
    seconds: float


def merge_checkpoints(
    vlm: str | Path,
    text: str | Path,
    out: str | Path,
    alpha: float = DEFAULT_ALPHA,
    *,
    method: str = "linear",
    dtype: str | None = None,
    overwrite: bool = False,
    max_shard_size: str | int = "5GB",
    hash_inputs: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: ProgressCallback | None = None,
) -> MergeOutcome:
    """Write one merged AyaVision folder at ``out``: weights, the VLM's other files, and merge.json.

    ``alpha`` is the VLM's share (1 = the VLM unchanged, 0 = the text LLM's weights). ``method``: linear | slerp.
    ``dtype`` (float32 | bfloat16 | float16) applies to the merged tensors; by default each keeps the VLM's dtype.
    ``hash_inputs`` records the inputs' SHA-256 in merge.json (hashed beside the merge, in a second thread).
    ``chunk_bytes`` is how much fp32 of each input one step holds: the bound on memory, whatever the tensor size.
    ``progress`` is called with (bytes done, bytes in all).
    """
    options = _Options(method, dtype, overwrite, max_shard_size, hash_inputs, chunk_bytes, progress)
    return _merge(Path(vlm), Path(text), Path(out), [alpha], sweep=False, options=options)


def merge_sweep(
    vlm: str | Path,
    text: str | Path,
    out: str | Path,
    alphas: Sequence[float],
    *,
    method: str = "linear",
    dtype: str | None = None,
    overwrite: bool = False,
    max_shard_size: str | int = "5GB",
    hash_inputs: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: ProgressCallback | None = None,
) -> MergeOutcome:
    """Write ``out/alpha-<a>/`` for every alpha, reading each input tensor once for all of them.

    The whole sweep appears at once or not at all. Options as for :func:`merge_checkpoints`.
    """
    options = _Options(method, dtype, overwrite, max_shard_size, hash_inputs, chunk_bytes, progress)
    return _merge(Path(vlm), Path(text), Path(out), list(alphas), sweep=True, options=options)


@dataclass(frozen=True)
class _Options:
    method: str
    dtype: str | None
    overwrite: bool
    max_shard_size: str | int
    hash_inputs: bool
    chunk_bytes: int
    progress: ProgressCallback | None


def alpha_folder_name(alpha: float) -> str:
    return f"alpha-{float(alpha)}"


def _merge(vlm: Path, text: Path, out: Path, alphas: list[float], sweep: bool, options: _Options) -> MergeOutcome:
    started = time.perf_counter()
    alphas = check_alphas(alphas)
    method = get_method(options.method)
    if options.dtype is not None and options.dtype not in OUTPUT_DTYPES:
        raise MergeError(f"--dtype {options.dtype!r}: choose one of {', '.join(OUTPUT_DTYPES)}")
    max_shard_bytes = parse_size(options.max_shard_size)
    for option, folder in (("--vlm", vlm), ("--text", text)):
        if not folder.is_dir():
            raise MergeError(f"{option} {folder}: not a folder")
    _refuse_output_overlapping_inputs(out, vlm, text)
    if out.exists() and not options.overwrite:
        raise OutputExistsError(f"{out} exists; choose another folder or pass --overwrite")  # before any reading
    plan = plan_merge(vlm, text, OUTPUT_DTYPES[options.dtype] if options.dtype else None)

    done = 0

    def advance(size: int) -> None:
        nonlocal done
        done += size
        if options.progress is not None:
            options.progress(done, plan.input_bytes)

    cancel = threading.Event()
    with atomic_dir(out, overwrite=options.overwrite) as tmp, ThreadPoolExecutor(max_workers=1) as hasher:
        folders = [tmp / alpha_folder_name(alpha) for alpha in alphas] if sweep else [tmp]
        for folder in folders:
            folder.mkdir(exist_ok=True)
        hashes = hasher.submit(_hash_both, vlm, text, cancel) if options.hash_inputs else None
        try:
            report = stream_merge(plan, method, alphas, folders, max_shard_bytes, options.chunk_bytes, advance)
            expected = [task.output for task in plan.tasks]
            for folder in folders:
                verify_output(folder, expected)
                copy_support_files(vlm, folder)
            inputs = hashes.result() if hashes is not None else {"vlm": {}, "text": {}}
        except BaseException:
            cancel.set()  # stop hashing now rather than after the inputs have been read to the end
            raise
        for alpha, folder in zip(alphas, folders, strict=True):
            record = _record(plan, method.name, alpha, alphas if sweep else None, options.dtype, inputs)
            write_record(folder, record)
    final = {alpha: (out / alpha_folder_name(alpha) if sweep else out) for alpha in alphas}
    return MergeOutcome(final, plan, report, time.perf_counter() - started)


def _hash_both(vlm: Path, text: Path, cancel: threading.Event) -> dict:
    try:
        return {"vlm": content_hashes(vlm, cancel), "text": content_hashes(text, cancel)}
    except HashCancelled:
        return {}


def _refuse_output_overlapping_inputs(out: Path, *inputs: Path) -> None:
    target = out.resolve()
    for folder in inputs:
        source = folder.resolve()
        if target == source or target.is_relative_to(source) or source.is_relative_to(target):
            raise MergeError(f"--out {out}: overlaps the input {folder}; write the merge elsewhere")


def _record(
    plan: MergePlan, method: str, alpha: float, sweep: list[float] | None, dtype: str | None, inputs: dict
) -> dict:
    record = {
        "method": method,
        "alpha": alpha,
        "formula": FORMULA if method == "linear" else f"{method} from the text LLM (alpha 0) to the VLM (alpha 1)",
        "vlm": {"path": str(plan.vlm_folder.resolve()), "layout": plan.layout.description, **inputs["vlm"]},
        "text": {"path": str(plan.text_folder.resolve()), **inputs["text"]},
        "dtype": dtype or "as in the VLM",
        "tied_head": plan.tied_head,
        "tensors": {
            "merged": len(plan.merged),
            "copied_from_vlm": len(plan.copied),
            "rows_from_vlm_only": {name: {"shared": s, "all": n} for name, (s, n) in plan.vlm_only_rows.items()},
            "text_unused": plan.ignored_text,
        },
        "ayavision_version": _version(),
    }
    if sweep is not None:
        record["sweep"] = sweep
    return record


def _version() -> str:
    try:
        return version("ayavision")
    except PackageNotFoundError:
        return "unknown"
