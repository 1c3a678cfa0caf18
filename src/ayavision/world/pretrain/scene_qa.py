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


def scene_qa(seed: int, index: int, split: str, turns: int, crosslingual: float = 0.0) -> SceneQA:
    """Dialogue ``index`` of a split: a random scene (1-5 objects), described, with ``turns`` questions.

    With probability ``crosslingual`` the dialogue crosses languages: the description is written in English
    half the time (as the teacher describes images), else in any language, and each question is asked and
    answered in a language drawn on its own. To answer "Warna hati?" from "The heart is red", the model must
    know that "hati" is "heart" and "merah" is "red": the shared concepts through which a multilingual LLM
    carries what it learns in one language (a VLM's image skills, mostly learnt in English) to the others.
    """
    rng = seeded_rng(seed, "scene-qa", split, index)
    language = rng.choice(LANGUAGES).nllb
    scene: Scene = sample_scene(rng, f"scene-qa-{split}-{index}")
    # Its own draws, so that monolingual dialogues are the same whatever the share.
    cross = seeded_rng(seed, "scene-qa-crosslingual", split, index)
    crossing = crosslingual > 0 and cross.random() < crosslingual
    source = ("eng_Latn" if cross.random() < 0.5 else cross.choice(LANGUAGES).nllb) if crossing else language
    description = render_statements(scene_statements(scene, relations=1, rng=rng), source, rng)
    asked: list[tuple[str, str, str]] = []
    spoken: list[str] = []
    for _ in range(50 * turns):  # a scene may offer no question of a drawn task: draw again
        if len(asked) == turns:
            break
        question = pick_question(rng, rng.choice(QA_TASKS), [scene])
        if question is not None:
            spoken.append(cross.choice(LANGUAGES).nllb if crossing else language)
            asked.append((question.text(spoken[-1]), question.short_answer(spoken[-1]), question.kind))
    tag = f"{split}/" if split else ""
    # A dialogue's language is the one its first question is asked in (what scoring reads the answer in).
    return SceneQA(f"scene-qa/{seed}/{tag}{index:06d}", spoken[0] if spoken else language, description, tuple(asked))
