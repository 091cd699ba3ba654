"""What a tool-calling model and its application get from ``VideoSearchTool``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import ToolCall, ToolMessage

from langchain_vrag import VideoSearchTool, to_hits
from vrag import VideoIndex
from vrag.search import check_citations

MARKER = re.compile(r"^(\[[^\]]+\]) ", re.MULTILINE)


def call(tool: VideoSearchTool, **args: Any) -> ToolMessage:
    message = tool.invoke(ToolCall(name=tool.name, args=args, id="call-1", type="tool_call"))
    assert isinstance(message, ToolMessage)
    return message


def test_content_cites_each_artifact_document_in_order(
    index: VideoIndex, slide: Callable[[str, str], dict[str, Any]]
) -> None:
    message = call(VideoSearchTool(index=index, k=3), query="how does backpropagation use the chain rule")
    docs = message.artifact
    assert len(docs) == 3
    passages = [p for p in str(message.content).split("\n") if not p.startswith("  ")]
    assert [MARKER.findall(p)[0] for p in passages] == [d.metadata["citation"] for d in docs]
    for line, doc in zip(passages, docs, strict=True):
        assert " ".join(doc.page_content.split()) in line
    # under each passage, the moment that answers with its own marker
    assert f"  best match {docs[0].metadata['moment']['citation']} " in str(message.content)
    expected = slide("neural_networks.mkv", "chain rule")
    assert (docs[0].metadata["start"], docs[0].metadata["end"]) == (expected["start"], expected["end"])
    _, kept, dropped = check_citations(str(message.content), to_hits(docs))
    assert dropped == () and {(d.metadata["start"], d.metadata["end"]) for d in docs} <= {
        (c.start, c.end) for c in kept
    }


def test_the_models_filters_are_applied(index: VideoIndex, corpus: Path) -> None:
    nets = str(corpus / "neural_networks.mkv")
    docs = call(VideoSearchTool(index=index, k=10), query="learning", video=nets, after=10.0).artifact
    assert docs and all(d.metadata["video"] == nets and d.metadata["start"] >= 10.0 for d in docs)


def test_a_bad_argument_comes_back_to_the_model_as_an_error_it_can_fix(index: VideoIndex) -> None:
    message = call(VideoSearchTool(index=index), query="chain rule", video="no_such_talk.mp4")
    assert message.status == "error"
    assert "no_such_talk.mp4: not in this index" in str(message.content)


def test_no_match_says_so_with_an_empty_artifact(index: VideoIndex) -> None:
    message = call(VideoSearchTool(index=index), query="chain rule", after=1000.0)
    assert message.artifact == [] and str(message.content).startswith(
        "No moment of the indexed videos matches"
    )
