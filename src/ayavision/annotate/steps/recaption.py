"""Recaption: a teacher VLM rewrites each short answer into a rich one that agrees with it, in <answer> tags."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ayavision.annotate.config import RecaptionConfig
from ayavision.annotate.parsing import extract_tag
from ayavision.annotate.records import assistant_turns, provenance, user_content
from ayavision.annotate.rules import Rules
from ayavision.annotate.step import Outcome, RecordContext, Step, register_step
from ayavision.annotate.templates import RECAPTION_FIELDS, Template, load_template
from ayavision.backends import ChatRequest
from ayavision.data import ConversationRecord, text_part


@dataclass
class _Turn:
    text: str | None  # the recaption, None when no usable answer came
    problem: str | None  # why the last attempt was not clean
    attempts: int
    finish_reason: str | None = None


@register_step
class RecaptionStep(Step):
    name = "recaption"
    config_type = RecaptionConfig
    config: RecaptionConfig

    def __init__(self, config: RecaptionConfig, backend) -> None:
        super().__init__(config, backend)
        self._by_task: dict[str, Template] = {
            task: load_template(f"recaption/{name}", RECAPTION_FIELDS, config.template_dir)
            for task, name in config.task_templates.items()
        }
        self.rules = Rules()

    def templates(self) -> list[Template]:
        return list({t.name: t for t in self._by_task.values()}.values())

    def request(self, template: Template, images: list[bytes], instruction: str, answer: str, attempt: int):
        """Attempt 0 decodes as configured; regenerations sample, each with its own seed (and cache entry)."""
        prompt = template.render(instruction=instruction, answer=answer)
        first = attempt == 0
        return ChatRequest(
            messages=[{"role": "user", "content": user_content(images, prompt)}],
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature if first else self.config.retry_temperature,
            seed=None if first else attempt,
        )

    async def _turn(self, template: Template, images: list[bytes], instruction: str, answer: str, ctx) -> _Turn:
        best: _Turn | None = None
        problem = ""
        for attempt in range(self.config.max_attempts):
            response = await ctx.chat(self.request(template, images, instruction, answer, attempt))
            parsed = extract_tag(response.text, "answer")
            if parsed.ok:
                violation = self.rules.violation(parsed.text)
                turn = _Turn(parsed.text, violation, attempt + 1, response.finish_reason)
                if violation is None:
                    return turn
                best, problem = turn, violation  # regenerate; if all attempts break a rule, the filter drops it
            elif parsed.status == "unclosed" and response.finish_reason == "length":
                problem = f"answer cut at max_tokens={self.config.max_tokens}"
            else:
                problem = f"no <answer>...</answer> in the reply ({parsed.status})"
        return best or _Turn(None, problem, self.config.max_attempts)

    async def process(self, record: ConversationRecord, ctx: RecordContext) -> Outcome:
        template = self._by_task.get(record.task)
        if template is None:
            return Outcome.dropped(f"no recaption template for task {record.task!r}")
        images = ctx.images(record)
        turns = assistant_turns(record)
        results = await asyncio.gather(
            *(self._turn(template, images, instruction, answer, ctx) for _, instruction, answer in turns)
        )
        for number, result in enumerate(results, start=1):
            if result.text is None:
                return Outcome.failed(f"{result.problem} (turn {number}, {result.attempts} attempt(s))")
        messages = list(record.messages)
        for (m_index, _, _), result in zip(turns, results, strict=True):
            messages[m_index] = messages[m_index].model_copy(update={"content": [text_part(result.text or "")]})
        meta = provenance(
            record,
            "recaption",
            original_answers=[answer for _, _, answer in turns],
            teacher=ctx.shared.identity,
            recaption={
                "template": template.name,
                "attempts": [r.attempts for r in results],
                "finish_reasons": [r.finish_reason for r in results],
                "violations": [r.problem for r in results],
            },
        )
        out = record.model_copy(update={"messages": messages, "bucket": "synthetic_en", "meta": meta})
        flagged = [f"turn {n}: {r.problem}" for n, r in enumerate(results, start=1) if r.problem]
        return Outcome.kept([out], reason="; ".join(flagged) + " (left for the filter)" if flagged else "")
