"""Translate: each record into languages drawn uniformly (seeded, per record) from the chosen ones."""

from __future__ import annotations

import asyncio
import hashlib
import random

from ayavision.annotate.config import TranslateConfig
from ayavision.annotate.records import provenance, text_parts, with_texts
from ayavision.annotate.step import Outcome, RecordContext, Step, register_step
from ayavision.annotate.templates import TRANSLATE_FIELDS, Template, load_template
from ayavision.backends import ChatRequest
from ayavision.data import ConversationRecord
from ayavision.languages import get_language


def draw_languages(record_id: str, config: TranslateConfig) -> list[str]:
    """A record's target languages: drawn from its id and the seed alone, so any order or worker agrees.

    Each record draws ``languages_per_record`` of the targets uniformly without replacement, so every
    language receives an equal share of the records in expectation: per-language random subsets.
    """
    digest = hashlib.sha256(f"{config.seed}:{record_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).sample(
        config.target_languages(), config.languages_per_record
    )


@register_step
class TranslateStep(Step):
    name = "translate"
    config_type = TranslateConfig
    config: TranslateConfig

    def __init__(self, config: TranslateConfig, backend) -> None:
        super().__init__(config, backend)
        self.template = load_template("translate", TRANSLATE_FIELDS, config.template_dir)
        self.targets = config.target_languages()

    def templates(self) -> list[Template]:
        return [self.template]

    def languages_for(self, record_id: str) -> list[str]:
        return draw_languages(record_id, self.config)

    def request(self, text: str, target: str) -> ChatRequest:
        """A chat for LLM translators; ``hints`` carry the NLLB codes for dedicated MT backends."""
        source = self.config.source_language
        system = self.template.render(
            source_language=get_language(source).english_name, target_language=get_language(target).english_name
        )
        return ChatRequest(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
            hints={"task": "translate", "src_lang": source, "tgt_lang": target},
        )

    async def _translate(self, text: str, target: str, ctx: RecordContext) -> tuple[str | None, str]:
        problem = ""
        for _ in range(self.config.max_attempts):
            response = await ctx.chat(self.request(text, target))
            if response.finish_reason == "length":
                problem = f"translation into {target} cut at the length limit"
            elif not response.text.strip():
                problem = f"empty translation into {target}"
            else:
                return response.text.strip(), ""
        return None, problem

    async def process(self, record: ConversationRecord, ctx: RecordContext) -> Outcome:
        source = self.config.source_language
        if record.language != source:
            return Outcome.dropped(f"record is in {record.language}, not the source language {source}")
        parts = text_parts(record)
        targets = self.languages_for(record.id)
        jobs = [(target, where, text) for target in targets for where, text in parts]
        results = await asyncio.gather(*(self._translate(text, target, ctx) for target, _, text in jobs))
        problems = [problem for translated, problem in results if translated is None]
        if problems:
            return Outcome.failed(f"{problems[0]} ({len(problems)} of {len(jobs)} text(s) failed)")
        outputs = []
        for target in targets:
            done = [(where, text, out) for (t, where, text), (out, _) in zip(jobs, results, strict=True) if t == target]
            meta = provenance(
                record,
                "translate",
                translation={
                    "source_language": source,
                    "target_language": target,
                    "translator": ctx.shared.identity,
                    "parts": [{"at": list(where), "source": text, "mt": out} for where, text, out in done],
                },
            )
            texts = {where: out for where, _, out in done}
            update = {"id": f"{record.id}/{target}", "language": target, "bucket": "multilingual", "meta": meta}
            outputs.append(with_texts(record, texts, **update))  # type: ignore[arg-type]
        return Outcome.kept(outputs)
