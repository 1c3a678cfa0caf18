"""`--set dotted.key=value` overrides of a recipe, now in ``ayavision.utils.overrides`` (any config file takes them)."""

from ayavision.utils.overrides import Override, OverrideError, apply_overrides, parse_override

__all__ = ["Override", "OverrideError", "apply_overrides", "parse_override"]
