"""Filter: (a) keyword rules drop refusals, leaked prompt phrases, empty and cut answers; (b) an LLM judge."""

from __future__ import annotations

import asyncio

from ayavision.annotate.config import FilterConfig
from ayavision.annotate.parsing import parse_verdict
from ayavision.annotate.records import assistant_turns, provenance, user_content
from ayavision.annotate.rules import Rules
from ayavision.annotate.step import Outcome, RecordContext, Step, register_step
from ayavision.annotate.templates import JUDGE_FIELDS, Template, load_template
from ayavision.backends import ChatRequest
from ayavision.data import ConversationRecord


@register_step
class FilterStep(Step):
    name = "filter"
    config_type = FilterConfig
    config: FilterConfig

    def __init__(self, config: FilterConfig, backend) -> None:
        super().__init__(config, backend)
        self.rules = Rules(config.rules)
        self.judge = load_template("judge", JUDGE_FIELDS, config.template_dir) if config.judge else None

    @classmethod
    def needs_backend(cls, config) -> bool:
        return bool(config.judge)

    def templates(self) -> list[Template]:
        return [self.judge] if self.judge else []

    async def _verdict(self, images: list[bytes], instruction: str, original: str, recaption: str, ctx):
        assert self.judge is not None
        prompt = self.judge.render(instruction=instruction, answer=original, recaption=recaption)
        reply = ""
        for attempt in range(self.config.max_attempts):
            request = ChatRequest(
                messages=[{"role": "user", "content": user_content(images, prompt)}],
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature if attempt == 0 else self.config.retry_temperature,
                seed=None if attempt == 0 else attempt,
            )
            reply = (await ctx.chat(request)).text
            verdict = parse_verdict(reply)
            if verdict is not None:
                return verdict, reply
        return None, reply

    async def process(self, record: ConversationRecord, ctx: RecordContext) -> Outcome:
        turns = assistant_turns(record)
        finish = record.meta.get("recaption", {}).get("finish_reasons", []) if isinstance(record.meta, dict) else []
        for number, (_, _, answer) in enumerate(turns, start=1):
            reason = self.rules.violation(answer, finish[number - 1] if number <= len(finish) else None)
            if reason is not None:
                return Outcome.dropped(f"{reason} in turn {number}")
        if self.judge is None:
            return Outcome.kept([record.model_copy(update={"meta": provenance(record, "filter")})])
        originals = record.meta.get("original_answers")
        if not isinstance(originals, list) or len(originals) != len(turns):
            return Outcome.failed("no meta.original_answers to judge against, one per assistant turn (run recaption)")
        images = ctx.images(record)
        verdicts = await asyncio.gather(
            *(
                self._verdict(images, instruction, str(original), answer, ctx)
                for (_, instruction, answer), original in zip(turns, originals, strict=True)
            )
        )
        for number, (verdict, reply) in enumerate(verdicts, start=1):
            if verdict is None:
                return Outcome.failed(f"judge gave no YES/NO (turn {number}: {reply[:80]!r})")
            if not verdict:
                return Outcome.dropped(f"judge said NO (turn {number}: the recaption disagrees with the original)")
        meta = provenance(record, "filter", judge=ctx.shared.identity)
        return Outcome.kept([record.model_copy(update={"meta": meta})])
