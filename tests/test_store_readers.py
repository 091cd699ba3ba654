"""Our segment points read through the stock LlamaIndex and LangChain Qdrant vector stores.

The stock stores talk to qdrant-client (they cannot open Edge folders), so the index here is an in-memory
qdrant-client one; the payload layout is the same on both backends (one function writes it).
Stock readers do not know about the two-phase commit: filter ``state == "committed"`` to hide
segments of a video still being written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("llama_index.vector_stores.qdrant")
pytest.importorskip("langchain_qdrant")

from qdrant_client import QdrantClient, models

from vrag.store import SegmentRecord, StoreSchema, VideoRecord, open_store, segment_point_id

SCHEMA = StoreSchema(
    dense={"clip": (4, "cosine"), "minilm": (3, "cosine")}, sparse_text=True, fingerprint="fp"
)
COLLECTION = "vrag_segments"


@pytest.fixture
def client() -> Iterator[QdrantClient]:
    client = QdrantClient(":memory:")
    with open_store(client=client, schema=SCHEMA) as store:
        store.begin_video("vid1")
        store.add_segments([
            SegmentRecord("vid1", "/v/cats.mp4", 12.5, 20.0, {"clip": [1, 0, 0, 0], "minilm": [1, 0, 0]},
                          text="the cat jumps on the table", keyframes=(14.0, 18.0), extra={"lang": "en"}),
            SegmentRecord("vid1", "/v/cats.mp4", 20.0, 31.0, {"clip": [0, 1, 0, 0]}, text=""),
        ])  # fmt: skip
        store.commit_video(VideoRecord("vid1", "/v/cats.mp4", 31.0))
        store.begin_video("vid2")  # being written: pending
        store.add_segments(
            [SegmentRecord("vid2", "/v/dogs.mp4", 0.0, 5.0, {"clip": [0.9, 0.1, 0, 0]}, text="dog")]
        )
    yield client
    client.close()


def test_llamaindex_stock_store_reads_our_points(client: QdrantClient) -> None:
    from llama_index.core.schema import NodeRelationship, TextNode
    from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery
    from llama_index.vector_stores.qdrant import QdrantVectorStore

    store = QdrantVectorStore(client=client, collection_name=COLLECTION, dense_vector_name="clip")
    committed = MetadataFilters(filters=[MetadataFilter(key="state", value="committed")])
    result = store.query(
        VectorStoreQuery(query_embedding=[1, 0, 0, 0], similarity_top_k=1, filters=committed)
    )
    (node,) = result.nodes
    assert isinstance(node, TextNode)
    assert node.node_id == result.ids[0] == segment_point_id("vid1", 12.5, 20.0, "fp")  # type: ignore[index]
    assert node.text == "the cat jumps on the table"
    assert node.metadata == {
        "video_id": "vid1",
        "video": "/v/cats.mp4",
        "start": 12.5,
        "end": 20.0,
        "keyframe": 14.0,
        "lang": "en",
    }
    assert node.ref_doc_id == "vid1" and node.relationships[NodeRelationship.SOURCE].node_id == "vid1"
    assert result.similarities == pytest.approx([1.0])
    llm_text = node.get_content(metadata_mode="llm")  # type: ignore[arg-type]
    assert "video: /v/cats.mp4" in llm_text and "start: 12.5" in llm_text and "video_id" not in llm_text
    unfiltered = store.query(VectorStoreQuery(query_embedding=[1, 0, 0, 0], similarity_top_k=3))
    assert {n.metadata["video_id"] for n in unfiltered.nodes} == {
        "vid1",
        "vid2",
    }  # pending shows unless filtered


def test_langchain_stock_store_reads_our_points(client: QdrantClient) -> None:
    from langchain_core.documents import Document
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from langchain_qdrant import QdrantVectorStore

    store = QdrantVectorStore(
        client=client,
        collection_name=COLLECTION,
        embedding=DeterministicFakeEmbedding(size=3),
        vector_name="minilm",
    )
    committed = models.Filter(
        must=[models.FieldCondition(key="state", match=models.MatchValue(value="committed"))]
    )
    ((doc, score),) = store.similarity_search_with_score_by_vector([1, 0, 0], k=5, filter=committed)
    assert isinstance(doc, Document)
    assert doc.page_content == "the cat jumps on the table" and score == pytest.approx(1.0)
    meta: dict[str, Any] = doc.metadata
    assert (meta["video"], meta["start"], meta["end"], meta["keyframes"]) == (
        "/v/cats.mp4",
        12.5,
        20.0,
        [14.0, 18.0],
    )
    assert meta["segment_id"] == meta["_id"] == segment_point_id("vid1", 12.5, 20.0, "fp")
    by_id = store.get_by_ids([meta["_id"]])
    assert by_id[0].page_content == doc.page_content
