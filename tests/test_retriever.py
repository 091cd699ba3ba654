"""One Retriever and one SearchOptions behind every entry point: options validated once (with suggestions),
relevance on a 0..1 scale, point ids and playable media URLs on every hit, rerankers that return an order."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.test_index import _corpus
from vrag.config import IndexConfig
from vrag.errors import ConfigError, UnknownNameError
from vrag.index import VideoIndex
from vrag.search import Query, SearchOptions, create_reranker
from vrag.store import segment_point_id
from vrag.types import Hit

CONFIG = {
    "visual_encoders": (),
    "workers": 0,
    "ocr": "off",
    "chunker": "fixed",
    "chunk_options": {"window": 2.0},
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("retriever")
    with VideoIndex.open(root / "idx", IndexConfig(**CONFIG)) as idx:
        assert len(idx.add(_corpus(root / "corpus"), progress=False).indexed) == 3
        yield idx


def test_options_are_checked_once_with_close_name_suggestions() -> None:
    with pytest.raises(ConfigError, match="did you mean 'per_video'"):
        SearchOptions.from_mapping({"per_vidoe": 2})
    with pytest.raises(UnknownNameError, match="Did you mean 'sentence'"):
        SearchOptions(rerank="sentense")
    bad = [
        {"k": 0}, {"k": True}, {"mmr": 1.5}, {"mmr": math.nan}, {"after": "nan"}, {"before": math.inf},
        {"after": "soon"}, {"after": 10, "before": 5}, {"expand": -1}, {"per_video": 0}, {"fusion": "sum"},
        {"weights": {"bm25": 2.0}, "fusion": "dbsf"}, {"where": {"n": 99999999999999999999999}},
        {"where": {"flag": True}}, {"candidates": 3, "k": 5}, {"video": ""},
    ]  # fmt: skip
    for options in bad:
        with pytest.raises(ConfigError):
            SearchOptions.from_mapping(options)
    opts = SearchOptions(k=3, video="talk.mp4", after="1:30", before=120, weights={"bm25": 2})
    assert (opts.video, opts.after, opts.before, opts.fused_by) == (("talk.mp4",), 90.0, 120.0, "rrf")
    assert opts.replace(k=7).k == 7 and opts.k == 3  # frozen: replace gives a new, re-checked value
    layered = SearchOptions(k=3).replace(weights={"bm25": 2})  # weights over a base (a server's [search])
    assert (SearchOptions().fused_by, layered.fused_by) == ("dbsf", "rrf")
    with pytest.raises(ConfigError, match="need fusion='rrf'"):
        SearchOptions(fusion="dbsf").replace(weights={"bm25": 2})  # a fusion chosen outright stays checked
    with pytest.raises(ConfigError, match="exactly one"):
        Query(text="x", image="y.png")


def test_scores_are_relevance_in_0_1_with_the_raw_fused_score_kept(index: VideoIndex) -> None:
    hits = index.search("the rocket reaches orbit", k=6)
    assert hits[0].video.endswith("space.mkv")
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # DBSF over two channels (minilm, bm25): the raw fused score is at most about 2
    assert all(h.score == pytest.approx(min(1.0, max(0.0, (h.raw_score or 0.0) / 2))) for h in hits)
    rrf = index.search("the rocket reaches orbit", k=6, fusion="rrf")
    assert all(0.0 < h.score <= 1.0 for h in rrf) and rrf[0].raw_score == pytest.approx(rrf[0].score * 2 / 60)
    alone = index.search("orbit", channels=["bm25"], k=3)  # one channel is scaled the same way
    assert alone and all(0.0 <= h.score <= 1.0 for h in alone)


def test_every_hit_carries_its_point_id_and_a_playable_url(index: VideoIndex) -> None:
    hit = index.search("chop the onions", k=1)[0]
    assert hit.id == segment_point_id(hit.video_id, hit.start, hit.end, index.fingerprint)
    stored = {s.id for s in index._store.iter_segments(hit.video_id)}
    assert hit.id in stored
    # the URL and the citation point at the moment: the subtitle cue "We chop the onions finely." (0.2-1.8 s)
    assert hit.moment is not None and (hit.moment.start, hit.moment.end) == (0.2, 1.8)
    assert hit.moment.text == "We chop the onions finely." and hit.citation.endswith("00:00.2–00:01.8]")
    url = hit.media_url()
    assert url == f"{Path(hit.video).as_uri()}#t=0.2,1.8" and url.startswith("file:///")
    served = hit.to_dict(media_base="http://127.0.0.1:8000/api/videos/x/media")["url"]
    assert served == "http://127.0.0.1:8000/api/videos/x/media#t=0.2,1.8"
    again = Hit.from_dict(hit.to_dict())
    assert again == hit and again.moment == hit.moment and (again.start, again.end) == (0.0, 2.0)


def test_rerankers_return_an_order_over_the_input() -> None:
    hits = [Hit("a.mp4", "a", 0.0, 4.0, 0.9, "the sky is blue"), Hit("a.mp4", "a", 4.0, 8.0, 0.5, "an apple")]
    order = create_reranker("llm", llm=lambda prompt: "1: 1\n2: 9", blend=0.25).order("fruit", hits)
    assert [r.index for r in order] == [1, 0] and [r.rerank for r in order] == [9.0, 1.0]
    assert [r.score for r in order] == [0.75, 0.25]  # 0.75 * reranker + 0.25 * retrieval, each on 0..1


def test_the_facade_search_is_the_retriever_search(index: VideoIndex) -> None:
    options = SearchOptions(k=2, per_video=1)
    assert index.search("water the plants", options=options) == index.retriever.search(
        "water the plants", options
    )
    assert index.search("water the plants", options=options, k=1) == index.retriever.search(
        "water the plants", options.replace(k=1)
    )
