"""Written-scene questions for the text LLM: a teacher-style description, then the image questions, all 23 languages.

A real multilingual LLM answers questions about a scene it reads in every language it knows; this lesson
gives the tiny text LLM that skill on the world's own question kinds (colour, size, place, shape, existence,
left/right, above/below, counts, sums, comparisons, background) before it ever sees an image. Descriptions are
the world's scene statements rendered in the question's language, as the scene teacher writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ayavision.languages import LANGUAGES
from ayavision.world.scene import Scene, sample_scene, seeded_rng
from ayavision.world.tasks import pick_question, render_statements, scene_statements

QA_TASKS = ("vqa", "counting")


@dataclass(frozen=True)
class SceneQA:
    """A written scene and questions about it; ``turns`` are (question, short answer, answer kind) triples."""

    id: str
    language: str
    description: str
    turns: tuple[tuple[str, str, str], ...]

    def messages(self) -> list[dict[str, str]]:
        out = []
        for number, (question, answer, _) in enumerate(self.turns):
            text = f"{self.description}\n{question}" if number == 0 else question
            out += [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
        return out

    @property
    def prompt(self) -> str:
        return f"{self.description}\n{self.turns[0][0]}"


def scene_qa(seed: int, index: int, split: str, turns: int) -> SceneQA:
    """Dialogue ``index`` of a split: a random scene (1-5 objects), described, with ``turns`` questions."""
    rng = seeded_rng(seed, "scene-qa", split, index)
    language = rng.choice(LANGUAGES).nllb
    scene: Scene = sample_scene(rng, f"scene-qa-{split}-{index}")
    description = render_statements(scene_statements(scene, relations=1, rng=rng), language, rng)
    asked: list[tuple[str, str, str]] = []
    for _ in range(50 * turns):  # a scene may offer no question of a drawn task: draw again
        if len(asked) == turns:
            break
        question = pick_question(rng, rng.choice(QA_TASKS), [scene])
        if question is not None:
            asked.append((question.text(language), question.short_answer(language), question.kind))
    tag = f"{split}/" if split else ""
    return SceneQA(f"scene-qa/{seed}/{tag}{index:06d}", language, description, tuple(asked))
