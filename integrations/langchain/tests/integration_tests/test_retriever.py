"""What a ``VideoRetriever`` user sees: the right slide of the right lecture, ``k`` moments, filters kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from langchain_vrag import VideoRetriever, to_hits
from vrag import Hit, IndexConfig, VideoIndex

QUESTIONS = [
    ("what happens when the learning rate is too large", "intro_to_ml.mp4", "learning rate is too large"),
    ("how does backpropagation use the chain rule", "neural_networks.mkv", "chain rule"),
    ("restrict results to one video or a time range", "video_search.webm", "Payload filters"),
]


@pytest.mark.parametrize(("question", "video", "words"), QUESTIONS)
def test_the_first_document_is_the_slide_that_answers(
    index: VideoIndex, slide: Callable[[str, str], dict[str, Any]], question: str, video: str, words: str
) -> None:
    expected = slide(video, words)
    first = VideoRetriever(index=index).invoke(question)[0]
    assert Path(first.metadata["video"]).name == video
    assert (first.metadata["start"], first.metadata["end"]) == (expected["start"], expected["end"])
    assert words in first.page_content
    assert first.metadata["citation"] == f"[{video} {_span(expected)}]"


def test_documents_are_the_hits_of_video_index_search(index: VideoIndex) -> None:
    query = "gradient of the loss"
    docs = VideoRetriever(index=index, k=5).invoke(query)

    def key(h: Hit) -> tuple[Any, ...]:  # fused ties may come back in either order
        return -h.score, h.video, h.start, h.end, h.text, h.keyframe, sorted(h.channel_scores.items())

    assert sorted(map(key, to_hits(docs))) == sorted(map(key, index.search(query, k=5)))


def test_k_is_honoured_from_the_constructor_and_from_invoke(index: VideoIndex) -> None:
    retriever = VideoRetriever(index=index, k=2)
    assert len(retriever.invoke("neural networks")) == 2
    assert len(retriever.invoke("neural networks", k=5)) == 5
    assert len(retriever.invoke("neural networks")) == 2  # the invoke keyword did not stick


def test_video_filter_keeps_to_that_lecture_and_still_finds_its_best_slide(
    index: VideoIndex, corpus: Path, slide: Callable[[str, str], dict[str, Any]]
) -> None:
    nets = str(corpus / "neural_networks.mkv")
    docs = VideoRetriever(index=index, k=10).invoke("the gradient of the loss", video=nets)
    assert docs and {Path(d.metadata["video"]).name for d in docs} == {"neural_networks.mkv"}
    assert docs[0].metadata["start"] == slide("neural_networks.mkv", "gradient of the loss")["start"]


def test_time_filters_keep_moments_inside_the_window(index: VideoIndex) -> None:
    docs = VideoRetriever(index=index, k=20).invoke("machine learning", after=12.0, before=36.0)
    assert docs and all(d.metadata["start"] >= 12.0 and d.metadata["end"] <= 36.0 for d in docs)
    unfiltered = VideoRetriever(index=index, k=20).invoke("machine learning")
    assert len(unfiltered) > len(docs)  # the window really removed moments


def test_where_filter_and_search_kwargs(index: VideoIndex, corpus: Path) -> None:
    webm = str(corpus / "video_search.webm")
    retriever = VideoRetriever(index=index, k=10, search_kwargs={"where": {"video": webm}})
    docs = retriever.invoke("learning rate")
    assert docs and {d.metadata["video"] for d in docs} == {webm}
    intro = str(corpus / "intro_to_ml.mp4")
    overridden = retriever.invoke("learning rate", where={"video": intro})  # invoke keywords win
    assert overridden and {d.metadata["video"] for d in overridden} == {intro}


async def test_ainvoke_gives_what_invoke_gives(index: VideoIndex) -> None:
    retriever = VideoRetriever(index=index, k=3)
    query = "activation functions"
    assert await retriever.ainvoke(query, after=20.0) == retriever.invoke(query, after=20.0)


def test_a_retriever_and_a_tool_on_one_folder_share_the_open_index(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from langchain_vrag import VideoSearchTool

    folder = tmp_path_factory.mktemp("by_path") / "vrag"
    with VideoIndex.open(folder, IndexConfig(visual_encoders=(), ocr="off", workers=0)) as built:
        assert built.add(corpus / "neural_networks.mkv").ok
    retriever, tool = VideoRetriever(index=str(folder), k=1), VideoSearchTool(index=folder, k=1)
    (doc,) = retriever.invoke("chain rule")
    content = tool.invoke({"query": "chain rule"})
    assert doc.metadata["start"] == 12.0 and content.startswith(doc.metadata["citation"])


def _span(s: dict[str, Any]) -> str:
    def mmss(t: float) -> str:
        return f"{int(t // 60):02d}:{t % 60:04.1f}"

    return f"{mmss(s['start'])}–{mmss(s['end'])}"
