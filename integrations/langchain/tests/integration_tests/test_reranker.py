"""``VideoReranker`` with the offline ``sentence`` reranker on what ``VideoRetriever`` returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from langchain_vrag import VideoReranker, VideoRetriever
from vrag import VideoIndex

QUERY = "why does the loss diverge"


@pytest.fixture(scope="module")
def reranker() -> VideoReranker:
    return VideoReranker(reranker="sentence")


def test_reranked_documents_are_ordered_by_relevance_score_and_inputs_are_untouched(
    index: VideoIndex, reranker: VideoReranker, slide: Callable[[str, str], dict[str, Any]]
) -> None:
    docs = VideoRetriever(index=index, k=6).invoke(QUERY)
    before = [d.model_copy(deep=True) for d in docs]
    ranked = reranker.compress_documents(docs, QUERY)
    scores = [d.metadata["relevance_score"] for d in ranked]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    assert sorted(d.metadata["citation"] for d in ranked) == sorted(d.metadata["citation"] for d in docs)
    best = slide("intro_to_ml.mp4", "loss diverges")
    assert (ranked[0].metadata["start"], ranked[0].metadata["end"]) == (best["start"], best["end"])
    assert "the loss diverges" in ranked[0].page_content
    assert docs == before and all("relevance_score" not in d.metadata for d in docs)


def test_top_n_keeps_the_best(index: VideoIndex, reranker: VideoReranker) -> None:
    docs = VideoRetriever(index=index, k=5).invoke(QUERY)
    everything = reranker.compress_documents(docs, QUERY)
    best_two = reranker.model_copy(update={"top_n": 2}).compress_documents(docs, QUERY)
    assert [d.metadata["citation"] for d in best_two] == [d.metadata["citation"] for d in everything[:2]]
    assert [d.metadata["relevance_score"] for d in best_two] == pytest.approx(
        [d.metadata["relevance_score"] for d in everything[:2]]
    )
