"""LlamaIndex's own words on a real index: ``similarity_top_k``, ``MetadataFilters``, node ids that are the
index's point ids, playable ``#t=`` URLs and relevance scores in [0, 1] that stock cutoffs understand."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.postprocessor import SimilarityPostprocessor
from llama_index.core.vector_stores import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.retrievers.vrag import VideoRetriever

from vrag import VideoIndex
from vrag.errors import ConfigError

BACKPROP = "how does backpropagation send the error backwards"


def _spans(results) -> set[tuple[str, float, float]]:
    return {
        (Path(r.node.metadata["video"]).name, r.node.metadata["start"], r.node.metadata["end"])
        for r in results
    }


def test_metadata_filters_become_video_time_and_payload_filters(index: VideoIndex) -> None:
    window = MetadataFilters(
        filters=[
            MetadataFilter(key="video", value="neural_networks.mkv"),
            MetadataFilter(key="start", value=12.0, operator=FilterOperator.GTE),
            MetadataFilter(key="end", value=32.0, operator=FilterOperator.LTE),
        ]
    )
    got = VideoRetriever(index, similarity_top_k=10, filters=window).retrieve("gradient")
    assert _spans(got) == {("neural_networks.mkv", 12.0, 24.0), ("neural_networks.mkv", 24.0, 32.0)}

    two = ["intro_to_ml.mp4", "video_search.webm"]
    either = MetadataFilters(filters=[MetadataFilter(key="video", value=two, operator=FilterOperator.IN)])
    got = VideoRetriever(index, similarity_top_k=30, filters=either).retrieve(BACKPROP)
    assert {name for name, _, _ in _spans(got)} == set(two)

    def payload(value: str) -> MetadataFilters:  # a stored segment field (OCR is off: every "ocr" is "")
        return MetadataFilters(filters=[MetadataFilter(key="ocr", value=value)])

    assert len(VideoRetriever(index, similarity_top_k=5, filters=payload("")).retrieve(BACKPROP)) == 5
    assert VideoRetriever(index, similarity_top_k=5, filters=payload("slide text")).retrieve(BACKPROP) == []


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        (
            MetadataFilters(filters=[MetadataFilter(key="video", value="x", operator=FilterOperator.NE)]),
            "video !=",
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="start", value=3.0, operator=FilterOperator.GT)]),
            "start >",
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="a", value="1"), MetadataFilter(key="b", value="2")],
                condition=FilterCondition.OR,
            ),
            "condition 'or'",
        ),
    ],
)
def test_filters_vrag_cannot_apply_are_refused_with_what_it_can(
    index: VideoIndex, filters: MetadataFilters, says: str
) -> None:
    with pytest.raises(ConfigError, match=says) as err:
        VideoRetriever(index, filters=filters)
    assert "AND" in str(err.value)  # names what it supports


def test_node_ids_are_the_index_point_ids(index: VideoIndex) -> None:
    hits = index.search(BACKPROP, k=3)
    nodes = VideoRetriever(index, similarity_top_k=3).retrieve(BACKPROP)
    assert [n.node.node_id for n in nodes] == [h.id for h in hits] and all(h.id for h in hits)
    assert [n.node.metadata["id"] for n in nodes] == [h.id for h in hits]


def test_nodes_carry_a_playable_url_with_a_media_fragment(index: VideoIndex) -> None:
    top = VideoRetriever(index, similarity_top_k=1).retrieve(BACKPROP)[0].node.metadata
    # the URL plays the moment that answers (a cue inside the 12-24 s slide); the citation is the slide's
    fragment = f"#t={top['moment']['start']!r},{top['moment']['end']!r}"
    assert 12.0 <= top["moment"]["start"] < top["moment"]["end"] <= 24.0
    assert top["url"] == Path(top["video"]).as_uri() + fragment
    assert Path(top["video"]).is_file()
    served = VideoRetriever(
        index, similarity_top_k=1, media_url="http://vrag.local/api/videos/{video_id}/media"
    )
    url = served.retrieve(BACKPROP)[0].node.metadata["url"]
    assert url == f"http://vrag.local/api/videos/{top['video_id']}/media{fragment}"


def test_scores_are_relevances_a_stock_cutoff_understands(index: VideoIndex) -> None:
    nodes = VideoRetriever(index, similarity_top_k=10).retrieve(BACKPROP)
    scores = [n.score for n in nodes]
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    assert scores[0] > 0.5 > scores[-1]  # the answering slide stands out; the tenth does not
    assert all(n.node.metadata["raw_score"] is not None for n in nodes)  # the engine's fused score, kept
    kept = SimilarityPostprocessor(similarity_cutoff=0.5).postprocess_nodes(nodes)
    assert kept == [n for n in nodes if n.score >= 0.5] and 0 < len(kept) < len(nodes)
