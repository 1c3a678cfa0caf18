"""The error a refused merge raises; its message names the folder, tensor or option at fault."""

from __future__ import annotations

from ayavision.errors import AyaVisionError


class MergeError(AyaVisionError, ValueError):
    """Inputs or options that cannot be merged; nothing has been written when it is raised."""
