"""The built-in steps; importing this package registers them by name."""

from ayavision.annotate.steps.filter import FilterStep
from ayavision.annotate.steps.recaption import RecaptionStep
from ayavision.annotate.steps.rephrase import RephraseStep
from ayavision.annotate.steps.translate import TranslateStep

__all__ = ["FilterStep", "RecaptionStep", "RephraseStep", "TranslateStep"]
