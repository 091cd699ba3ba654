"""``vrag mcp``: the MCP SDK's own client starts the server over stdio and calls its tools; results carry
citations to the right slide of a generated lecture."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.serving import Corpus, lecture_corpus  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def corpus(lecture_corpus: Corpus) -> Corpus:  # noqa: F811
    return lecture_corpus


def test_search_and_ask_tools_round_trip_over_stdio(corpus: Corpus, tmp_path: Path) -> None:
    from mcp import Client, StdioServerParameters

    index = corpus.copy(tmp_path / "index")
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "vrag.cli", "mcp", "--index", str(index)], env=dict(os.environ),
        cwd=tmp_path,
    )  # fmt: skip
    slide = corpus.truth["intro_to_ml.mp4"][1]  # "Gradient descent"

    async def session() -> dict[str, Any]:
        async with Client(server, read_timeout_seconds=120) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            found = await client.call_tool(
                "search_videos", {"query": "gradient descent learning rate", "k": 2}
            )
            answer = await client.call_tool("ask_videos", {"question": "why does the loss diverge?", "k": 3})
            bad = await client.call_tool("search_videos", {"query": "x", "video": ["nope.mp4"]})
            return {"tools": tools, "found": found, "answer": answer, "bad": bad}

    out = asyncio.run(session())
    tools = out["tools"]
    assert set(tools) == {"search_videos", "ask_videos"}
    assert tools["search_videos"].input_schema["properties"]["k"]["type"] == "integer"
    assert tools["search_videos"].input_schema["required"] == ["query"]
    assert tools["ask_videos"].output_schema is not None  # typed results

    found = out["found"].structured_content
    top = found["moments"][0]
    assert Path(top["video"]).name == "intro_to_ml.mp4"
    assert (top["segment_start"], top["segment_end"]) == (slide["start"], slide["end"])
    marked = re.fullmatch(r"\[intro_to_ml\.mp4 00:(\d+\.\d)–00:(\d+\.\d)\]", top["citation"])
    assert marked and 12.0 <= top["start"] < top["end"] <= 24.0  # the moment inside the slide
    assert (float(marked[1]), float(marked[2])) == (round(top["start"], 1), round(top["end"], 1))
    assert top["text"] in top["segment_text"] and len(top["text"]) < len(top["segment_text"])
    assert top["url"].endswith(f"#t={round(top['start'], 3)!r},{round(top['end'], 3)!r}")
    assert len(found["moments"]) == 2

    answer = out["answer"].structured_content
    cited = answer["citations"][0]
    assert Path(cited["video"]).name == "intro_to_ml.mp4" and 12.0 <= cited["start"] < cited["end"] <= 24.0
    assert cited["citation"] in answer["answer"] and "loss diverges" in answer["answer"]

    bad = out["bad"]
    assert bad.is_error and "nope.mp4" in bad.content[0].text and "not in this index" in bad.content[0].text
