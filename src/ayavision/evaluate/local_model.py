"""A local model folder to answer a benchmark with, generated through the one local-model backend (``transformers``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ayavision.backends.spec import BackendSpec


@dataclass(frozen=True)
class LocalModel:
    """A model folder and where to run it; nothing is loaded here (the ``transformers`` backend loads it).

    An AyaVision folder answers items with or without images; a plain causal-LM folder (the text LLM a
    VLM starts from and is merged back with) answers text-only items, so text skills can be compared.
    """

    folder: Path
    device: str = "cpu"
    dtype: str | None = None

    def __init__(self, folder: str | Path, device: str = "cpu", dtype: str | None = None) -> None:
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder}: not a model folder (no config.json)")
        object.__setattr__(self, "folder", folder)
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "dtype", dtype)

    def backend(self, batch_size: int) -> BackendSpec:
        """The ``transformers`` backend that answers for this folder, ``batch_size`` requests per generate call."""
        return BackendSpec(
            kind="transformers", model=str(self.folder), device=self.device, dtype=self.dtype or "auto",
            batch_size=batch_size,
        )  # fmt: skip

    def identity(self) -> dict[str, Any]:
        """Who answered, as an answers file records it: the folder and its fingerprint (the backend's own)."""
        from ayavision.backends.transformers import folder_fingerprint

        return {
            "kind": "local",
            "name": self.folder.name,
            "path": str(self.folder.resolve()),
            "fingerprint": folder_fingerprint(self.folder),
        }
