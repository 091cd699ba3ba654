"""The ``llm`` reranker driven by a LangChain chat model: documents come back best first with their
``relevance_score``, as copies; the model sees the passages with their citation markers."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_vrag import VideoReranker, to_document
from vrag import Hit
from vrag.errors import ConfigError

DOCS = [
    to_document(Hit("/v/intro.mp4", "i", 0.0, 12.0, 0.9, "Machine learning infers rules from examples.")),
    to_document(
        Hit("/v/intro.mp4", "i", 12.0, 24.0, 0.8, "If the learning rate is too large the loss diverges.")
    ),
    to_document(Hit("/v/nets.mkv", "n", 32.0, 44.0, 0.7, "ReLU is the usual default activation.")),
]


class Prompts(BaseCallbackHandler):
    """Records what the chat model is asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kw: Any
    ) -> None:
        self.seen.extend(str(m.content) for batch in messages for m in batch)


ALONE = {"blend": 0.0}  # the LLM's ratings alone (the default blends in the retrieval score)


def test_the_default_blend_weighs_in_the_retrieval_score() -> None:
    # retrieval 0.9 / 0.8 / 0.7 and ratings 2 / 9 / 5, each scaled to [0, 1] and averaged: 0.5 / 0.75 / 0.21
    ranked = VideoReranker(llm=rater("1: 2\n2: 9\n3: 5")).compress_documents(DOCS, "loss diverges")
    assert [d.metadata["start"] for d in ranked] == [12.0, 0.0, 32.0]  # the ratings alone: 12, 32, 0
    assert [d.metadata["relevance_score"] for d in ranked] == pytest.approx([0.75, 0.5, 1.5 / 7])


def rater(reply: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(reply)]))


def test_documents_come_back_ordered_by_the_models_ratings_as_copies() -> None:
    before = [d.model_copy(deep=True) for d in DOCS]
    prompts = Prompts()
    ranked = VideoReranker(llm=rater("1: 2\n2: 9\n3: 5"), options=ALONE).compress_documents(
        DOCS, "why does training blow up", callbacks=[prompts]
    )
    assert [d.page_content for d in ranked] == [
        DOCS[1].page_content,
        DOCS[2].page_content,
        DOCS[0].page_content,
    ]
    assert [d.metadata["rerank_score"] for d in ranked] == [9.0, 5.0, 2.0]  # the model's own ratings
    assert [d.metadata["relevance_score"] for d in ranked] == pytest.approx([1.0, 3 / 7, 0.0])  # in [0, 1]
    assert ranked[0].metadata["citation"] == "[intro.mp4 00:12.0–00:24.0]"
    assert before == DOCS and all("relevance_score" not in d.metadata for d in DOCS)
    (prompt,) = prompts.seen
    assert "Query: why does training blow up" in prompt
    assert "2. [intro.mp4 00:12.0–00:24.0] If the learning rate is too large" in prompt


def test_top_n_keeps_the_best() -> None:
    ranked = VideoReranker(llm=rater("1: 2\n2: 9\n3: 5"), top_n=1, options=ALONE).compress_documents(
        DOCS, "loss diverges"
    )
    assert [d.metadata["start"] for d in ranked] == [12.0]


def test_documents_that_are_not_video_spans_are_judged_by_their_text() -> None:
    note = Document(
        page_content="Lecture notes: a too large step makes the loss explode.", metadata={"page": 3}
    )
    ranked = VideoReranker(llm=rater("1: 1\n2: 8"), options=ALONE).compress_documents(
        [DOCS[0], note], "loss explodes"
    )
    assert ranked[0].page_content == note.page_content
    assert ranked[0].metadata == {"page": 3, "relevance_score": 1.0, "rerank_score": 8.0}


async def test_async_compression_gives_the_same_order() -> None:
    ranked = await VideoReranker(llm=rater("1: 2\n2: 9\n3: 5"), options=ALONE).acompress_documents(
        DOCS, "loss diverges"
    )
    assert [d.metadata["rerank_score"] for d in ranked] == [9.0, 5.0, 2.0]


def test_an_llm_goes_with_the_llm_reranker_only() -> None:
    with pytest.raises(ConfigError, match="llm= goes with reranker='llm'"):
        VideoReranker(reranker="sentence", llm=rater("1: 1"))
