"""LangChain's own words on a real index: ``search_kwargs`` as the vector-store retrievers take them,
``Document.id`` = the index's point id, no text repeated in metadata, playable ``#t=`` URLs and relevance
scores in [0, 1]."""

from __future__ import annotations

from pathlib import Path

from langchain_vrag import VideoRetriever, to_hits
from vrag import VideoIndex

QUESTION = "how does backpropagation use the chain rule"


def test_search_kwargs_k_and_filter_as_vector_store_retrievers_take_them(
    index: VideoIndex, corpus: Path
) -> None:
    nets = str(corpus / "neural_networks.mkv")
    retriever = VideoRetriever(index=index, search_kwargs={"k": 3, "filter": {"video": nets}})
    docs = retriever.invoke("learning")
    assert len(docs) == 3 and {d.metadata["video"] for d in docs} == {nets}
    intro = str(corpus / "intro_to_ml.mp4")
    other = retriever.invoke("learning", k=2, filter={"video": intro})  # invoke keywords win for one call
    assert len(other) == 2 and {d.metadata["video"] for d in other} == {intro}


def test_mmr_and_fetch_k_are_vrags_mmr_and_candidates(index: VideoIndex) -> None:
    retriever = VideoRetriever(
        index=index, search_type="mmr", search_kwargs={"k": 3, "fetch_k": 12, "lambda_mult": 0.25}
    )
    assert to_hits(retriever.invoke(QUESTION)) == index.search(QUESTION, k=3, candidates=12, mmr=0.75)


def test_document_id_is_the_point_id_and_the_text_is_not_repeated(index: VideoIndex) -> None:
    hits = index.search(QUESTION, k=4)
    docs = VideoRetriever(index=index, k=4).invoke(QUESTION)
    assert [d.id for d in docs] == [h.id for h in hits] and all(h.id for h in hits)
    assert [d.page_content for d in docs] == [h.text for h in hits]
    assert all("text" not in d.metadata and "id" not in d.metadata for d in docs)
    assert to_hits(docs) == hits  # nothing is lost on the way


def test_documents_carry_a_playable_url_with_a_media_fragment(index: VideoIndex) -> None:
    top = VideoRetriever(index=index, k=1).invoke(QUESTION)[0].metadata
    # the URL plays the moment that answers, a cue inside the 12-24 s slide the citation names
    fragment = f"#t={top['moment']['start']!r},{top['moment']['end']!r}"
    assert top["url"] == Path(top["video"]).as_uri() + fragment and Path(top["video"]).is_file()
    assert top["citation"] == "[neural_networks.mkv 00:12.0–00:24.0]"
    assert 12.0 <= top["moment"]["start"] < top["moment"]["end"] <= 24.0
    served = VideoRetriever(index=index, k=1, media_url="http://vrag.local/api/videos/{video_id}/media")
    assert served.invoke(QUESTION)[0].metadata["url"] == (
        f"http://vrag.local/api/videos/{top['video_id']}/media{fragment}"
    )


def test_scores_are_relevances_and_score_threshold_cuts_on_them(index: VideoIndex) -> None:
    docs = VideoRetriever(index=index, k=10).invoke(QUESTION)
    scores = [d.metadata["score"] for d in docs]
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    assert all(d.metadata["raw_score"] is not None for d in docs)  # the engine's fused score, kept
    cut = VideoRetriever(
        index=index, search_type="similarity_score_threshold", search_kwargs={"k": 10, "score_threshold": 0.5}
    ).invoke(QUESTION)
    assert cut == [d for d in docs if d.metadata["score"] >= 0.5] and 0 < len(cut) < len(docs)
