"""Prompt templates: text files with ``{placeholder}`` fields, built in and overridable from a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ayavision.errors import AyaVisionError

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

# What each template must contain: a template without them would ask the model about nothing.
RECAPTION_FIELDS = frozenset({"instruction", "answer"})
JUDGE_FIELDS = frozenset({"instruction", "answer", "recaption"})
TRANSLATE_FIELDS = frozenset({"source_language", "target_language"})
REPHRASE_FIELDS = frozenset({"source_language", "target_language", "source", "translation"})


class TemplateError(AyaVisionError, ValueError):
    """A template that is missing, or lacks a placeholder its step fills in."""


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    origin: str  # the file it came from, or "built-in"
    fields: frozenset[str]

    def render(self, **values: str) -> str:
        """Fill the template's own fields; other braces (LaTeX, JSON in a prompt) are left alone."""
        missing = self.fields - set(values)
        if missing:
            raise TemplateError(f"template {self.name!r} needs values for: {', '.join(sorted(missing))}")
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in self.fields else m.group(0), self.text)


def builtin_template_names() -> list[str]:
    root = resources.files("ayavision.annotate") / "templates"
    names = [p.name.removesuffix(".txt") for p in root.iterdir() if p.name.endswith(".txt")]
    names += [
        f"recaption/{p.name.removesuffix('.txt')}" for p in (root / "recaption").iterdir() if p.name.endswith(".txt")
    ]
    return sorted(names)


def load_template(name: str, fields: frozenset[str], template_dir: Path | None = None) -> Template:
    """Template ``name`` (e.g. ``recaption/vqa``) from ``template_dir`` if it has one, else the built-in one.

    Raises ``TemplateError`` naming the file when a required placeholder is missing.
    """
    override = Path(template_dir) / f"{name}.txt" if template_dir is not None else None
    if template_dir is not None and not Path(template_dir).is_dir():
        raise TemplateError(f"template folder {template_dir} does not exist")
    if override is not None and override.is_file():
        text, origin = override.read_text(encoding="utf-8"), str(override)
    else:
        path = resources.files("ayavision.annotate") / "templates" / f"{name}.txt"
        if not path.is_file():
            raise TemplateError(f"no template named {name!r}; built-in ones: {', '.join(builtin_template_names())}")
        text, origin = path.read_text(encoding="utf-8"), "built-in"
    present = set(_PLACEHOLDER.findall(text))
    missing = fields - present
    if missing:
        need = ", ".join("{" + f + "}" for f in sorted(fields))
        lacks = ", ".join("{" + f + "}" for f in sorted(missing))
        raise TemplateError(f"template {origin} ({name}) lacks {lacks}; it must contain {need}")
    return Template(name=name, text=text, origin=origin, fields=fields)
