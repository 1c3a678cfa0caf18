"""The annotation steps by name: the built-in ones and those a plug-in registers with ``register_step``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ayavision.utils.registry import Registry

if TYPE_CHECKING:
    from ayavision.annotate.step import Step

# The built-in steps register themselves when their package is imported, which the first lookup does: this module
# (read by the pipeline config) and the Step base need not import them, so no import cycle runs through the steps.
STEPS: Registry[type[Step]] = Registry("step", builtins=("ayavision.annotate.steps",))
