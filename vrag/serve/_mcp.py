"""``vrag mcp``: the index as a stdio MCP server (the official ``mcp`` SDK) with two tools a chatbot can
call: ``search_videos`` (moments with citations) and ``ask_videos`` (an answer whose citations are checked).

Example (a desktop chatbot's MCP client configuration):

    {"mcpServers": {"videos": {"command": "vrag", "args": ["mcp", "--index", "/data/lectures/.vrag"]}}}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from vrag.index import VideoIndex
    from vrag.search import SearchOptions
    from vrag.types import Hit

__all__ = ["CitedAnswer", "Moment", "SearchResult", "create_mcp_server", "run_mcp"]

_MAX_K = 50


class Moment(BaseModel):
    """The moment of one video that best matches (a subtitle cue or run of cues), inside the indexed
    segment it was found in; start, end, text, citation and url all describe the moment."""

    video: str = Field(description="the video file")
    video_id: str
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    score: float = Field(description="relevance 0..1")
    text: str = Field(description="the words of the moment")
    citation: str = Field(description="the [video mm:ss–mm:ss] marker to cite this moment with")
    url: str = Field(description="the file with a #t=start,end media fragment that plays the moment")
    segment_start: float = Field(description="seconds: the whole segment around the moment (context)")
    segment_end: float = Field(description="seconds")
    segment_text: str = Field(description="transcript and on-screen text of the whole segment")

    @classmethod
    def of(cls, hit: Hit) -> Moment:
        start, end = hit.cited  # the moment's span (the segment's when it has no moment)
        text = hit.moment.text if hit.moment is not None else hit.text
        return cls(
            video=hit.video, video_id=hit.video_id, start=start, end=end, score=hit.score, text=text,
            citation=hit.citation, url=hit.media_url(), segment_start=hit.start, segment_end=hit.end,
            segment_text=hit.text,
        )  # fmt: skip


class SearchResult(BaseModel):
    """The moments that best match a query, best first."""

    query: str
    moments: list[Moment]


class CitedSpan(BaseModel):
    """A span an answer cites (checked against the evidence)."""

    video: str
    start: float
    end: float
    citation: str


class CitedAnswer(BaseModel):
    """An answer with its checked citations and the evidence it was written from."""

    answer: str = Field(description="the answer; each claim is followed by its [video mm:ss–mm:ss] marker")
    citations: list[CitedSpan]
    evidence: list[Moment]


def create_mcp_server(
    index: VideoIndex, *, options: SearchOptions | None = None, llm: Callable[[str], str] | None = None
) -> MCPServer:
    """An MCP server over ``index``: ``search_videos`` and ``ask_videos``.

    Args:
        index: the open index.
        options: default search options (``[search]`` of vrag.toml).
        llm: the answering model (``[llm]``); without one, answers quote the evidence.
    """
    from mcp.server.mcpserver import MCPServer

    from vrag.search import SearchOptions

    base = options or SearchOptions()
    server: MCPServer = MCPServer(
        "vrag",
        instructions="Search indexed videos for moments and answer questions about them. Cite moments with "
        "the [video mm:ss–mm:ss] markers the tools return.",
    )

    @server.tool()
    def search_videos(
        query: Annotated[str, Field(min_length=1, description="what to look for, in words")],
        k: Annotated[int, Field(ge=1, le=_MAX_K, description="how many moments")] = 5,
        video: Annotated[list[str] | None, Field(description="only these videos (file names or ids)")] = None,
        after: Annotated[str | None, Field(description="only moments from this time on (90 or 1:30)")] = None,
        before: Annotated[str | None, Field(description="only moments ending by this time")] = None,
    ) -> SearchResult:
        """Find the moments in the indexed videos that match a query (speech, on-screen text, visuals)."""
        with _told():
            opts = base.replace(k=k, video=video, after=after, before=before)
            hits = index.search(query, options=opts)
        return SearchResult(query=query, moments=[Moment.of(h) for h in hits])

    @server.tool()
    def ask_videos(
        question: Annotated[str, Field(min_length=1, description="the question")],
        k: Annotated[int, Field(ge=1, le=_MAX_K, description="evidence moments to use")] = 5,
        video: Annotated[list[str] | None, Field(description="only these videos (file names or ids)")] = None,
    ) -> CitedAnswer:
        """Answer a question from the indexed videos, citing the moments it comes from."""
        with _told():
            answer = index.ask(question, k=k, llm=llm, video=video, options=base)
        cited = [
            CitedSpan(video=c.video, start=c.start, end=c.end, citation=c.marker) for c in answer.citations
        ]
        return CitedAnswer(
            answer=answer.text, citations=cited, evidence=[Moment.of(h) for h in answer.evidence]
        )

    return server


@contextmanager
def _told() -> Iterator[None]:
    """A vrag error reaches the model with its message (which says the fix); anything else stays a crash."""
    from mcp.server.mcpserver.exceptions import ToolError

    from vrag.errors import VragError

    try:
        yield
    except VragError as err:
        raise ToolError(f"{type(err).__name__}: {err}") from err


def run_mcp(index: VideoIndex, **kwargs: Any) -> None:
    """Serve ``index`` over stdio until the client closes the connection (see :func:`create_mcp_server`)."""
    create_mcp_server(index, **kwargs).run("stdio")
