"""The LangChain examples' chain and agent, run offline on the test index with their scripted models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_vrag import VideoRetriever, VideoSearchTool
from tests.conftest import load_example
from vrag import VideoIndex


def test_qa_chain_keeps_the_true_citation_and_removes_the_made_up_one(
    index: VideoIndex, truth: dict[str, list[dict[str, Any]]], slide: Callable[[str, str], dict[str, Any]]
) -> None:
    qa = load_example("langchain_qa_chain")
    result = qa.qa_chain(VideoRetriever(index=index, k=4), qa.scripted_model(truth)).invoke(qa.QUESTION)
    assert len(result["documents"]) == 4 and result["question"] == qa.QUESTION
    answer = qa.checked(result)
    expected = slide("intro_to_ml.mp4", "learning rate is too large")
    assert [(c.start, c.end) for c in answer.citations] == [(expected["start"], expected["end"])]
    assert answer.citations[0].video.endswith("intro_to_ml.mp4")
    assert answer.dropped == ("[intro_to_ml.mp4 05:00.0–05:10.0]",) and "05:00" not in answer.text


def test_qa_chain_prompt_lists_the_retrieved_moments_with_markers(index: VideoIndex) -> None:
    qa = load_example("langchain_qa_chain")
    docs = VideoRetriever(index=index, k=2).invoke(qa.QUESTION)
    prompt = qa.PROMPT.format(moments=qa.format_moments(docs), question=qa.QUESTION)
    assert all(f"{d.metadata['citation']} {' '.join(d.page_content.split())}" in prompt for d in docs)


def test_agent_searches_twice_and_its_citations_are_all_in_what_the_tool_returned(
    index: VideoIndex, truth: dict[str, list[dict[str, Any]]], slide: Callable[[str, str], dict[str, Any]]
) -> None:
    agent = load_example("langchain_agent")
    tool = VideoSearchTool(index=index, k=3)
    text, results = agent.run_agent(agent.scripted_model(truth), [tool], agent.QUESTION)
    assert [len(r.artifact) for r in results] == [3, 3]
    answer = agent.checked(text, results)
    backprop, relu = (
        slide("neural_networks.mkv", "chain rule"),
        slide("neural_networks.mkv", "rectified linear"),
    )
    assert [(Path(c.video).name, c.start, c.end) for c in answer.citations] == [
        ("neural_networks.mkv", backprop["start"], backprop["end"]),
        ("neural_networks.mkv", relu["start"], relu["end"]),
    ]
    assert answer.dropped == ()
