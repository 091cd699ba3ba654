"""``vrag serve`` and ``vrag mcp``: the index as an HTTP API with a page to search and watch, and as an MCP
server for chatbots. Both are built on the same :class:`vrag.VideoIndex` (and so the same Retriever) as the
CLI and the framework adapters. Needs the ``server`` extra (``pip install "vrag-video[server]"``).

Example:
    >>> from vrag import VideoIndex
    >>> from vrag.serve import ServeConfig, run_server
    >>> with VideoIndex.open(".vrag") as index:                                  # doctest: +SKIP
    ...     run_server(index, ServeConfig(port=8000, roots=["videos"]))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vrag.serve._app import create_app
from vrag.serve._config import API_KEY_ENV, ServeConfig, is_loopback, llm_from_config
from vrag.serve._mcp import create_mcp_server, run_mcp

if TYPE_CHECKING:
    from vrag.index import VideoIndex

__all__ = [
    "API_KEY_ENV",
    "ServeConfig",
    "create_app",
    "create_mcp_server",
    "is_loopback",
    "llm_from_config",
    "run_mcp",
    "run_server",
]


def run_server(index: VideoIndex, config: ServeConfig | None = None) -> None:
    """Serve ``index`` with uvicorn until interrupted (Ctrl-C); an index job still running is waited for."""
    import uvicorn

    config = config or ServeConfig()
    uvicorn.run(
        create_app(index, config), host=config.host, port=config.port, log_level="info",
        timeout_keep_alive=5, timeout_graceful_shutdown=10, server_header=False,
    )  # fmt: skip
