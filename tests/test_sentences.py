"""One sentence splitter for rerankers, extractive answers and subtitle boundaries."""

from __future__ import annotations

from vrag._sentences import ends_sentence, sentences
from vrag.search import extractive_answer
from vrag.types import Cue, Hit


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    text = (
        "Dr. Ebbinghaus measured forgetting in 1885, e.g. with nonsense syllables. The rate was 0.5 per day!"
    )
    assert sentences(text) == [
        "Dr. Ebbinghaus measured forgetting in 1885, e.g. with nonsense syllables.",
        "The rate was 0.5 per day!",
    ]


def test_line_breaks_always_end_one_and_blank_text_has_none() -> None:
    assert sentences("Gradient descent\n  \nfollow the slope downhill") == [
        "Gradient descent",
        "follow the slope downhill",
    ]
    assert sentences(" \n ") == []


def test_final_punctuation_with_closing_quotes() -> None:
    assert ends_sentence("he said “stop.”") and ends_sentence("終わり。") and ends_sentence("really?!  ")
    assert not ends_sentence("and then") and not ends_sentence("e.g")


def test_answers_quote_a_whole_sentence_across_an_abbreviation() -> None:
    hit = Hit(
        "/v/memory.mp4", "m", 0.0, 10.0, 1.0, "Dr. Ebbinghaus measured the forgetting curve. It drops fast."
    )
    answer = extractive_answer("who measured the forgetting curve", [hit])
    assert answer.text == "Dr. Ebbinghaus measured the forgetting curve. [memory.mp4 00:00.0–00:10.0]"


def test_subtitle_sentence_boundaries_use_the_same_rule() -> None:
    from vrag.media import sentence_boundaries

    assert sentence_boundaries(
        [Cue(0, 1, "Dr. Smith said so."), Cue(1, 2, "and then"), Cue(2, 3, "more")]
    ) == [
        1.0,
        3.0,
    ]
