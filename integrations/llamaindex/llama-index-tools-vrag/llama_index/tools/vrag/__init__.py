"""Agent tools over a vrag video index: ``from llama_index.tools.vrag import video_search_tool``."""

from llama_index.tools.vrag.base import NO_MATCH, VideoToolSpec, format_hits, video_search_tool

__all__ = ["NO_MATCH", "VideoToolSpec", "format_hits", "video_search_tool"]
