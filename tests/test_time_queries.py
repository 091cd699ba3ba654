"""Relations in time read from queries (the parser and the LLM's validated JSON), per-cue timings kept with
segments, moments, abstention and multi-step sub-queries — the parts that need no index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vrag._cues import pack_cues, unpack_cues
from vrag.errors import ConfigError, LLMError
from vrag.eval._lectures import LECTURES
from vrag.search import SearchOptions, extractive_answer
from vrag.search._answer import NOTHING, answer_with_llm
from vrag.search._moments import MomentFinder
from vrag.search._steps import relation_variants, sub_queries
from vrag.search._temporal import TimeQuery, decompose, parse_llm_reply, parse_time_query
from vrag.types import Cue, Hit, Moment

T = TimeQuery
PARSED = [
    ("what comes right after the part about gradient descent?",
     T("after", "gradient descent", immediate=True)),
    ("what comes after gradient descent", TimeQuery("after", "gradient descent")),
    ("What was covered just before the part about Overfitting?", T("before", "overfitting", immediate=True)),
    ("what follows the part about DNS", TimeQuery("after", "dns", immediate=True)),
    ("right after they explain backpropagation, what comes next?",
     T("after", "backpropagation", immediate=True)),
    ("what did they say about dropout before showing batch normalisation?",
     TimeQuery("before", "batch normalisation", "dropout")),
    ("what do they say about the learning rate after the part about loss functions",
     TimeQuery("after", "loss functions", "learning rate")),
    ("what comes between the part about aperture and the part about focal length?",
     TimeQuery("between", "aperture", until="focal length")),
    ("what is discussed between transactions and joins", TimeQuery("between", "transactions", until="joins")),
    ("when do they first mention the learning rate?", TimeQuery("first", "learning rate")),
    ("the last time the speaker talks about packets", TimeQuery("last", "packets")),
    ("when is overfitting first mentioned", TimeQuery("first", "overfitting")),
    ("how does the talk start?", TimeQuery("start")),
    ("what is said at the end of the lecture", TimeQuery("end")),
    ("what do they say about tides in the last five minutes", T("end", target="tides", seconds=300.0)),
    ("in the last 20 seconds, what do they say about regularisation",
     TimeQuery("end", target="regularisation", seconds=20.0)),
    ("what do they show in the first minute", TimeQuery("start", seconds=60.0)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_relations_in_time_are_read_from_the_question(text: str, expected: TimeQuery) -> None:
    assert parse_time_query(text) == expected


def test_topic_queries_with_time_words_stay_plain_searches() -> None:
    traps = [
        "staying up all night before an exam leads to worse retention",
        "apps that time each review for the moment just before you forget",
        "usual probability of switching units off, between ten and fifty percent",
        "a fast broad first pass followed by careful reading of each candidate",
        "how many messages are exchanged to open a connection before sending anything",
        "guessing the following word over huge amounts of internet writing",
        "what comes next?",  # no anchor: nothing to measure from
        "the end of the world",
    ]
    eval_queries = [q for lec in LECTURES for s in (*lec.slides, lec.camera) for q in (*s.screen, *s.speech)]
    assert len(eval_queries) == 110
    assert [q for q in traps + eval_queries if parse_time_query(q) is not None] == []


def test_times_on_the_clock_are_filters_not_parts_to_find() -> None:
    from vrag.search._temporal import clock_window

    assert clock_window("what do they say after 1:30?") == (90.0, None, "what do they say ?")
    assert clock_window("the loss before the 12:00 mark") == (None, 720.0, "the loss")
    assert clock_window("between 1:00 and 2:30, what about loss") == (60.0, 150.0, ", what about loss")
    assert clock_window("what comes right after the part about gradient descent") is None
    assert parse_time_query("what do they say after 0:30") is None  # not "after the part about '0 30'"
    assert parse_time_query("what do they say after 30 seconds") is None


def test_a_time_query_is_validated_and_reads_back() -> None:
    with pytest.raises(ConfigError, match="needs an anchor"):
        TimeQuery("after")
    with pytest.raises(ConfigError, match="both ends"):
        TimeQuery("between", "a")
    with pytest.raises(ConfigError, match="positive window"):
        TimeQuery("end", seconds=-5)
    with pytest.raises(ConfigError, match="relation must be one of"):
        TimeQuery("during", "x")  # type: ignore[arg-type]
    assert TimeQuery("before", "y", "x", immediate=True).describe() == "just before 'y', about 'x'"
    assert TimeQuery("end", seconds=300.0).describe() == "the last 5 min"
    assert TimeQuery("first", "dropout").describe() == "first mention of 'dropout'"


def test_the_llm_reply_is_validated_and_the_parser_decides_when_it_is_not_valid() -> None:
    reply = json.dumps(
        {"relation": "after", "anchor": "The Part About DNS", "target": None, "until": None, "seconds": None,
         "immediate": True}
    )  # fmt: skip
    assert parse_llm_reply(f"Sure! ```json\n{reply}\n```") == TimeQuery("after", "dns", immediate=True)
    assert parse_llm_reply('{"relation": null}') is None
    for bad in ('{"relation": "during", "anchor": "x"}', '{"relation": "after"}', "no json here",
                '{"relation": "after", "anchor": "x", "mood": "happy"}',
                '{"relation": "end", "seconds": "five minutes"}', "[1, 2]"):  # fmt: skip
        with pytest.raises(ValueError):
            parse_llm_reply(bad)
    asked: list[str] = []

    def llm(prompt: str) -> str:
        asked.append(prompt)
        return "I think it is after the DNS part."  # not JSON

    question = "what comes right after the part about routing?"
    assert decompose(question, llm) == TimeQuery("after", "routing", immediate=True)
    assert len(asked) == 1 and question in asked[0]
    assert (
        decompose("how do packets find their way", llm) is None and len(asked) == 1
    )  # no time word: no call

    def down(prompt: str) -> str:
        raise LLMError("connection refused")

    assert decompose(question, down) == TimeQuery("after", "routing", immediate=True)


def test_search_options_switch_relations_and_moments_and_check_the_decomposer() -> None:
    opts = SearchOptions(temporal=False, moments=False, decomposer=lambda p: "{}")
    assert (opts.temporal, opts.moments) == (False, False) and callable(opts.decomposer)
    for bad in ({"temporal": "no"}, {"moments": 1}, {"decomposer": "gpt-4o"}):
        with pytest.raises(ConfigError):
            SearchOptions.from_mapping(bad)


# ---------------------------------------------------------------------------------------------- cues


def test_cue_times_round_trip_through_the_payload_without_storing_the_text_twice() -> None:
    cues = (Cue(1.0, 2.5, " Hello there. "), Cue(2.6, 2.9, "  "), Cue(3.0, 4.0, "Next point."))
    text = "Hello there. Next point."
    packed = pack_cues(cues, text)
    assert packed == [[1.0, 2.5, 12], [3.0, 4.0, 24]]
    assert unpack_cues({"speech": text, "cues": packed}) == [
        (1.0, 2.5, "Hello there."),
        (3.0, 4.0, "Next point."),
    ]
    assert pack_cues(cues, "Some other text entirely.") == []  # never offsets into the wrong text
    assert unpack_cues({"speech": text}) == [] and unpack_cues({"speech": text, "cues": [["x"]]}) == []


def test_many_cues_are_joined_pairwise_to_fit_the_cap() -> None:
    cues = [Cue(float(i), i + 0.5, f"w{i}") for i in range(10)]
    text = " ".join(c.text for c in cues)
    packed = pack_cues(cues, text, limit=4)
    assert len(packed) == 3  # 10 -> 5 -> 3
    back = unpack_cues({"speech": text, "cues": packed})
    assert [(s, e) for s, e, _ in back] == [(0.0, 3.5), (4.0, 7.5), (8.0, 9.5)]
    assert " ".join(t for _, _, t in back) == text  # every word still belongs to one moment


class _Bag:
    """A bag-of-words text encoder for unit tests: cosine of word counts over a fixed vocabulary."""

    words = ("onion", "butter", "rocket", "orbit", "garden", "fry", "chop")

    def _vec(self, texts: list[str]) -> np.ndarray:
        rows = np.array([[t.lower().count(w) for w in self.words] for t in texts], dtype=np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)

    encode_query = encode_document = _vec


def test_the_moment_is_the_best_cue_widened_to_neighbours_that_score_as_well() -> None:
    said = ("We chop the onion.", "Then fry the onion in butter.", "The rocket reaches orbit.")
    speech = " ".join(said)
    cues = [Cue(0.5, 2.0, said[0]), Cue(2.5, 5.0, said[1]), Cue(6.0, 8.0, said[2])]
    extra = {"speech": speech, "cues": pack_cues(cues, speech), "ocr": ""}
    hit = Hit("a.mp4", "a", 0.0, 9.0, 0.8, speech, id="p1")
    finder = MomentFinder(_Bag(), widen=0.05)  # type: ignore[arg-type]
    (found,) = finder.attach("fry in butter", [hit], {"p1": extra})
    assert found.moment is not None and (found.moment.start, found.moment.end) == (2.5, 5.0)
    assert found.moment.text == "Then fry the onion in butter." and found.cited == (2.5, 5.0)
    assert found.citation == "[a.mp4 00:02.5–00:05.0]" and found.media_url().endswith("#t=2.5,5.0")
    (wide,) = MomentFinder(_Bag(), widen=0.6).attach("onion", [hit], {"p1": extra})  # type: ignore[arg-type]
    assert wide.moment is not None and (wide.moment.start, wide.moment.end) == (0.5, 5.0)
    (old,) = finder.attach("rocket", [hit], {"p1": {"speech": speech, "ocr": ""}})  # stored without cues
    assert old.moment is not None and (old.moment.start, old.moment.end) == (0.0, 9.0)
    assert old.moment.text == "The rocket reaches orbit."


# ---------------------------------------------------------------------------------------------- answers


def _hit(start: float, text: str, score: float, video: str = "/v/a.mp4") -> Hit:
    return Hit(video, "a", start, start + 10, 0.5, text, moment=Moment(start + 1, start + 3, text, score))


def test_the_extractive_answer_abstains_below_the_threshold_and_never_pads() -> None:
    strong, close, weak = (
        _hit(0, "The loss diverges.", 0.8),
        _hit(10, "Steps too big.", 0.75),
        _hit(20, "Hi.", 0.3),
    )
    answer = extractive_answer(
        "why does the loss diverge", [strong, weak, close], min_support=0.5, margin=0.1
    )
    assert answer.text == "The loss diverges. [a.mp4 00:01.0–00:03.0] Steps too big. [a.mp4 00:11.0–00:13.0]"
    assert [(c.start, c.end) for c in answer.citations] == [(1.0, 3.0), (11.0, 13.0)]  # the moments
    assert not answer.abstained and answer.support == 0.8
    best_only = extractive_answer("why does the loss diverge", [strong, weak, close], min_support=0.5)
    assert best_only.text == "The loss diverges. [a.mp4 00:01.0–00:03.0]"  # the default margin: 0
    nothing = extractive_answer("what is the capital of France?", [weak], min_support=0.5)
    assert (nothing.text, nothing.citations, nothing.abstained, nothing.support) == (NOTHING, (), True, 0.3)


def test_llm_answers_keep_only_claims_with_a_verified_citation() -> None:
    hits = [_hit(0, "The loss diverges.", 0.8)]
    said = (
        "The loss diverges [a.mp4 00:01.0–00:03.0]. It was invented in Paris. Also [b.mp4 00:01.0–00:02.0]. "
        "Steps were too big. [a.mp4 00:00.0–00:10.0]"
    )
    answer = answer_with_llm("why", hits, lambda prompt: said, min_support=0.5)
    assert (
        answer.text
        == "The loss diverges [a.mp4 00:01.0–00:03.0]. Steps were too big. [a.mp4 00:00.0–00:10.0]"
    )
    assert [(c.start, c.end) for c in answer.citations] == [
        (1.0, 3.0),
        (0.0, 10.0),
    ]  # the moment, the segment
    assert answer.removed == ("It was invented in Paris.", "Also.") and answer.dropped == (
        "[b.mp4 00:01.0–00:02.0]",
    )
    calls: list[str] = []
    weak = answer_with_llm("capital of France?", [_hit(0, "Hi.", 0.2)], lambda p: calls.append(p) or "x")
    assert weak.abstained and weak.text == NOTHING and calls == []  # not even asked
    unbacked = answer_with_llm("why", hits, lambda prompt: "Because of physics.", min_support=0.5)
    assert unbacked.abstained and unbacked.citations == () and unbacked.removed == ("Because of physics.",)


def test_sub_queries_come_from_the_model_as_validated_json_or_from_the_question() -> None:
    question = "what is a b-tree index and why do inserts slow down?"
    assert sub_queries(question) == [
        "what is a b-tree index",
        "why do inserts slow down",
        "tree index insert slow",
    ]
    relation = TimeQuery("before", "the batch normalisation layers", "dropout rates")
    assert relation_variants(relation) == [
        TimeQuery("before", "the batch normalisation layers", "dropout rate"),
        TimeQuery("before", "batch normalisation layer", "dropout rates"),
    ]
    good = lambda p: '{"queries": ["b-tree lookups", "insert cost of indexes", "third", "fourth"]}'  # noqa: E731
    assert sub_queries(question, good, n=2) == ["b-tree lookups", "insert cost of indexes"]
    for reply in ('{"queries": []}', '{"queries": "b-tree"}', '{"q": ["x"]}', "sure!", '{"queries": [3]}'):
        assert sub_queries(question, lambda p, r=reply: r) == sub_queries(question)  # type: ignore[misc]
