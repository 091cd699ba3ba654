"""VideoReranker: vrag's rerankers reorder LlamaIndex nodes; an LLM reranker takes any LlamaIndex LLM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.schema import ImageNode, NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.vrag_rerank import VideoReranker
from llama_index.retrievers.vrag import VideoRetriever

from vrag import VideoIndex
from vrag.errors import ConfigError, UnknownNameError
from vrag.search import Reranker, create_reranker

OVERFITTING = "what should I hold out to detect overfitting early"


@pytest.fixture(scope="module")
def sentence() -> Reranker:
    """The offline sentence reranker (bundled MiniLM), loaded once; VideoReranker also takes instances."""
    return create_reranker("sentence", blend=0.0)  # the reranker alone (the default blends in retrieval)


class KeywordJudge(CustomLLM):
    """Stands in for a chat model: rates each numbered passage 9 if it mentions ``keyword``, else 1."""

    keyword: str
    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="keyword-judge")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        passages = re.findall(r"^(\d+)\. (.*)$", prompt, flags=re.MULTILINE)
        return CompletionResponse(
            text="\n".join(f"{n}: {9 if self.keyword in text else 1}" for n, text in passages)
        )

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt)


def _spans(results: list[NodeWithScore]) -> list[tuple[str, float, float]]:
    return [
        (Path(r.node.metadata["video"]).name, r.node.metadata["start"], r.node.metadata["end"])
        for r in results
    ]


def test_llm_reranker_follows_the_llms_ratings(index: VideoIndex) -> None:
    nodes = VideoRetriever(index, similarity_top_k=5).retrieve("gradient descent")
    judge = KeywordJudge(keyword="validation set")
    reranker = VideoReranker(llm=judge, top_n=2, blend=0.0)
    reranked = reranker.postprocess_nodes(nodes, query_str="gradient descent")
    assert _spans(nodes)[0] != ("intro_to_ml.mp4", 32.0, 44.0)  # not first before reranking
    assert len(reranked) == 2 and _spans(reranked)[0] == ("intro_to_ml.mp4", 32.0, 44.0)
    assert "validation set" in reranked[0].node.text and reranked[0].score == 1.0  # best of the candidates
    assert reranked[0].node.metadata["channel_scores"]["rerank"] == 9.0  # the LLM's own rating
    assert "[intro_to_ml.mp4 00:32.0–00:44.0]" in judge.prompts[-1]  # the LLM saw the citation markers


def test_sentence_reranker_brings_the_answering_span_first(index: VideoIndex) -> None:
    nodes = VideoRetriever(index, similarity_top_k=6).retrieve("training")
    reranked = VideoReranker("sentence", top_n=3, blend=0.0).postprocess_nodes(nodes, query_str=OVERFITTING)
    assert len(reranked) == 3 and _spans(reranked)[0] == ("intro_to_ml.mp4", 32.0, 44.0)
    scores = [r.score for r in reranked]
    assert scores == sorted(scores, reverse=True)
    top = reranked[0].node.metadata
    assert top["score"] == reranked[0].score == 1.0  # blend=0: the reranker's order, scaled to [0, 1]
    assert 0.0 < top["channel_scores"]["rerank"] <= 1.0  # the raw cosine of the best sentence
    retrieved = next(n for n in nodes if n.node.node_id == reranked[0].node.node_id)
    assert top["channel_scores"]["retrieval"] == retrieved.score
    assert retrieved.node.metadata["score"] == retrieved.score  # the retriever's nodes are left as they were


def test_keyframe_nodes_follow_their_spans(index: VideoIndex, sentence: Reranker) -> None:
    nodes = VideoRetriever(index, similarity_top_k=4, keyframes=True).retrieve("training")
    reranked = VideoReranker(sentence, top_n=2).postprocess_nodes(nodes, query_str=OVERFITTING)
    assert [isinstance(r.node, ImageNode) for r in reranked] == [False, False, True, True]
    assert _spans(reranked[2:]) == _spans(reranked[:2])
    assert [r.score for r in reranked[2:]] == [r.score for r in reranked[:2]]


def test_nodes_from_elsewhere_are_judged_by_their_text(sentence: Reranker) -> None:
    nodes = [
        NodeWithScore(node=TextNode(text="Bananas are yellow and sweet."), score=0.9),
        NodeWithScore(node=TextNode(text="Keep a validation set aside to catch overfitting."), score=0.1),
    ]
    reranked = VideoReranker(sentence).postprocess_nodes(nodes, query_bundle=QueryBundle(OVERFITTING))
    assert [r.node.node_id for r in reranked] == [nodes[1].node.node_id, nodes[0].node.node_id]
    assert reranked[0].node is nodes[1].node


def test_bad_settings_say_what_to_do(sentence: Reranker) -> None:
    with pytest.raises(UnknownNameError, match="sentence"):
        VideoReranker("sentense")
    with pytest.raises(ConfigError, match="llm"):
        VideoReranker("sentence", llm=KeywordJudge(keyword="x"))
    with pytest.raises(ConfigError, match="reranker name"):
        VideoReranker(sentence, model="other")
    with pytest.raises(ConfigError, match="query"):
        VideoReranker(llm=KeywordJudge(keyword="x")).postprocess_nodes([], query_bundle=None)
