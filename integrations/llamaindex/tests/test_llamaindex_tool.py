"""The agent tool: a search returns passages, each with a [video mm:ss–mm:ss] marker of a real span."""

from __future__ import annotations

import asyncio
import re

import pytest
from llama_index.core.tools import FunctionTool
from llama_index.tools.vrag import NO_MATCH, VideoToolSpec, format_hits, video_search_tool

from vrag import VideoIndex
from vrag.errors import ConfigError
from vrag.search import check_citations

QUESTION = "what goes wrong when the learning rate is too large"


def run(coro):
    """Run a coroutine on a private loop (``asyncio.run`` would unset the loop LlamaIndex's sync paths leave
    set, and its garbage collection then warns mid-session)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_tool_returns_cited_passages_best_first(index: VideoIndex) -> None:
    tool = video_search_tool(index, k=3)
    assert isinstance(tool, FunctionTool) and tool.metadata.name == "search_videos"
    assert list(tool.metadata.fn_schema.model_json_schema()["properties"]) == [
        "query",
        "video",
        "after",
        "before",
    ]
    assert "[video mm:ss–mm:ss]" in tool.metadata.description
    output = tool.call(query=QUESTION)
    passages = re.split(r"\n(?=\d+\. )", output.content)
    assert len(passages) == 3
    assert (
        passages[0].startswith("1. [intro_to_ml.mp4 00:12.0–00:24.0] ") and "the loss diverges" in passages[0]
    )
    hits = index.search(QUESTION, k=3)
    # each passage: the span's marker and text, then the moment that answers under its own marker
    assert f"  best match {hits[0].citation} If the learning rate is too large" in passages[0]
    _, citations, dropped = check_citations(output.content, hits)
    cited = {(c.video, c.start, c.end) for c in citations}
    assert dropped == () and {(h.video, h.start, h.end) for h in hits} <= cited
    assert (hits[0].video, *hits[0].cited) in cited


def test_tool_applies_its_search_options(index: VideoIndex, corpus) -> None:
    tool = video_search_tool(index, k=5, video=str(corpus / "video_search.webm"), name="lecture_search")
    names = re.findall(r"^\d+\. \[(\S+) ", tool.call(query=QUESTION).content, flags=re.MULTILINE)
    assert tool.metadata.name == "lecture_search" and names == ["video_search.webm"] * 3
    with pytest.raises(ConfigError, match="befor"):
        VideoToolSpec(index, befor=10.0)


def test_the_agent_can_narrow_by_video_and_time(index: VideoIndex) -> None:
    tool = video_search_tool(index, k=10)
    narrowed = tool.call(query=QUESTION, video="neural_networks.mkv", after=12.0, before=32.0).content
    spans = re.findall(r"^\d+\. \[(\S+) (\S+)–(\S+)\]", narrowed, flags=re.MULTILINE)
    assert spans == [
        ("neural_networks.mkv", "00:12.0", "00:24.0"),
        ("neural_networks.mkv", "00:24.0", "00:32.0"),
    ]
    assert (
        run(tool.acall(query=QUESTION, video="neural_networks.mkv", after=12.0, before=32.0)).content
        == narrowed
    )
    with pytest.raises(ConfigError, match="not in this index"):
        VideoToolSpec(index).search_videos(QUESTION, video="nowhere.mp4")


def test_async_call_and_tool_spec_agree(index: VideoIndex) -> None:
    tool = VideoToolSpec(index, k=2).to_tool_list()[0]
    assert tool.metadata.name == "search_videos"
    sync = tool.call(query=QUESTION).content
    assert run(video_search_tool(index, k=2).acall(query=QUESTION)).content == sync


def test_no_hits_says_so() -> None:
    assert format_hits([]) == NO_MATCH
