"""Rephrase: an LLM post-edits each machine translation given its source, answering in <translation> tags."""

from __future__ import annotations

import asyncio

from ayavision.annotate.config import RephraseConfig
from ayavision.annotate.parsing import extract_tag
from ayavision.annotate.records import provenance, with_texts
from ayavision.annotate.step import Outcome, RecordContext, Step, register_step
from ayavision.annotate.templates import REPHRASE_FIELDS, Template, load_template
from ayavision.backends import ChatRequest
from ayavision.data import ConversationRecord
from ayavision.languages import get_language


@register_step
class RephraseStep(Step):
    name = "rephrase"
    config_type = RephraseConfig
    config: RephraseConfig

    def __init__(self, config: RephraseConfig, backend) -> None:
        super().__init__(config, backend)
        self.template = load_template("rephrase", REPHRASE_FIELDS, config.template_dir)

    def templates(self) -> list[Template]:
        return [self.template]

    async def _rephrase(self, source: str, translation: str, languages: tuple[str, str], ctx) -> tuple[str | None, str]:
        prompt = self.template.render(
            source_language=get_language(languages[0]).english_name,
            target_language=get_language(languages[1]).english_name,
            source=source,
            translation=translation,
        )
        problem = ""
        for attempt in range(self.config.max_attempts):
            request = ChatRequest(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature if attempt == 0 else self.config.retry_temperature,
                seed=None if attempt == 0 else attempt,
            )
            response = await ctx.chat(request)
            parsed = extract_tag(response.text, "translation")
            if parsed.ok:
                return parsed.text, ""
            cut = parsed.status == "unclosed" and response.finish_reason == "length"
            problem = "rephrase cut at max_tokens" if cut else f"no <translation>...</translation> ({parsed.status})"
        return None, problem

    async def process(self, record: ConversationRecord, ctx: RecordContext) -> Outcome:
        info = record.meta.get("translation")
        if not isinstance(info, dict) or not isinstance(info.get("parts"), list):
            return Outcome.failed("no meta.translation with the source of each text (run translate first)")
        languages = (info.get("source_language", "eng_Latn"), record.language)
        parts = info["parts"]
        results = await asyncio.gather(*(self._rephrase(part["source"], part["mt"], languages, ctx) for part in parts))
        for number, (text, problem) in enumerate(results, start=1):
            if text is None:
                return Outcome.failed(f"{problem} (text {number} of {len(parts)})")
        edited = [{**part, "rephrased": text} for part, (text, _) in zip(parts, results, strict=True)]
        meta = provenance(record, "rephrase", translation={**info, "parts": edited, "rephraser": ctx.shared.identity})
        texts = {tuple(part["at"]): part["rephrased"] for part in edited}
        return Outcome.kept([with_texts(record, texts, meta=meta)])  # type: ignore[arg-type]
