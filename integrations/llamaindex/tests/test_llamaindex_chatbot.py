"""examples/llamaindex_chatbot.py: offline answers that quote the lectures and cite spans that exist."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from vrag import VideoIndex

INVENTED = "It diverges [intro_to_ml.mp4 00:12.0–00:24.0], as seen in [intro_to_ml.mp4 09:00.0–09:10.0]."
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "llamaindex_chatbot.py"


@pytest.fixture(scope="module")
def chatbot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llamaindex_chatbot", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def _cited_slides(turn, truth) -> list[dict]:
    """The generated slide each citation of the answer names, checked to be exactly one slide's span."""
    slides = []
    for citation in turn.citations:
        slide = next(
            s
            for s in truth[Path(citation.video).name]
            if (s["start"], s["end"]) == (citation.start, citation.end)
        )
        slides.append(slide)
    return slides


def test_answers_quote_the_right_slide_and_cite_it(chatbot: ModuleType, index: VideoIndex, truth) -> None:
    engine = chatbot.build_chat_engine(index)
    turn = chatbot.ask(engine, "What goes wrong when the learning rate is too large?")
    assert turn.answer.startswith(
        "If the learning rate is too large the loss diverges. [intro_to_ml.mp4 00:12.0–00:24.0]"
    )
    assert turn.dropped == () and len(turn.sources) == 3
    slides = _cited_slides(turn, truth)
    assert slides[0]["title"] == "Gradient descent"
    for slide, quoted in zip(slides, re.split(r" \[[^\]]+\]\s*", turn.answer), strict=False):
        assert quoted in slide["narration"]  # every quoted sentence is what was said in the cited span


def test_a_follow_up_is_answered_in_context(chatbot: ModuleType, index: VideoIndex, truth) -> None:
    engine = chatbot.build_chat_engine(index)
    first = chatbot.ask(engine, "Why does a model that memorises its training set fail?")
    follow = chatbot.ask(engine, "What helps against it?")  # "it": the condensed question carries the topic
    assert _cited_slides(first, truth)[0]["title"] == "Overfitting"
    assert follow.answer.startswith(
        "Regularisation and more data both help. [intro_to_ml.mp4 00:32.0–00:44.0]"
    )
    assert follow.dropped == () and _cited_slides(follow, truth)[0]["title"] == "Overfitting"


def test_a_made_up_citation_is_removed(chatbot: ModuleType, index: VideoIndex) -> None:
    from llama_index.core.llms import MockLLM

    class Inventing(MockLLM):
        def complete(self, prompt: str, formatted: bool = False, **kwargs):  # type: ignore[override]
            response = super().complete(prompt, formatted=formatted, **kwargs)
            response.text = INVENTED
            return response

    turn = chatbot.ask(
        chatbot.build_chat_engine(index, Inventing()), "What goes wrong when the learning rate is too large?"
    )
    assert turn.dropped == ("[intro_to_ml.mp4 09:00.0–09:10.0]",)
    assert "09:00" not in turn.answer and [(c.start, c.end) for c in turn.citations] == [(12.0, 24.0)]


def test_unknown_llm_spec_says_what_to_use(chatbot: ModuleType) -> None:
    with pytest.raises(SystemExit, match="offline, ollama:MODEL or openai:MODEL"):
        chatbot.load_llm("gpt")
