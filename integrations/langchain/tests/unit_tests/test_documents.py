"""Hits become Documents (text as page content, ``Hit.to_dict()`` as metadata) and come back unchanged."""

from __future__ import annotations

from langchain_core.documents import Document

from langchain_vrag import to_document, to_hit, to_hits
from vrag import Hit

HIT = Hit(
    "/v/intro_to_ml.mp4", "abc123", 12.0, 24.0, 0.031, "If the learning rate is too large the loss diverges.",
    keyframe=18.0, channel_scores={"bm25": 9.3, "minilm": 0.48},
)  # fmt: skip


def test_a_hit_becomes_a_document_with_its_text_and_citation() -> None:
    doc = to_document(HIT)
    assert doc.page_content == HIT.text
    assert doc.metadata["citation"] == "[intro_to_ml.mp4 00:12.0–00:24.0]"
    assert (doc.metadata["video"], doc.metadata["start"], doc.metadata["end"]) == (
        "/v/intro_to_ml.mp4",
        12.0,
        24.0,
    )
    assert doc.metadata["channel_scores"] == {"bm25": 9.3, "minilm": 0.48}


def test_a_document_comes_back_as_the_same_hit() -> None:
    back = to_hit(to_document(HIT))
    assert back == HIT and back.channel_scores == HIT.channel_scores and back.keyframe == 18.0


def test_documents_of_the_stock_langchain_qdrant_store_convert_too() -> None:
    # the metadata LangChain's QdrantVectorStore reads from a vrag index (tests/test_store_readers.py)
    stock = Document(
        page_content="the cat jumps on the table",
        metadata={"video": "/v/cats.mp4", "video_id": "vid1", "start": 12.5, "end": 20.0,
                  "keyframes": [14.0, 18.0], "segment_id": "x", "_id": "x"},
    )  # fmt: skip
    (hit,) = to_hits([stock])
    assert (hit.video, hit.start, hit.end, hit.text) == (
        "/v/cats.mp4",
        12.5,
        20.0,
        "the cat jumps on the table",
    )
    assert hit.citation == "[cats.mp4 00:12.5–00:20.0]"
