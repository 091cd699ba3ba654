"""A LlamaIndex retriever over a vrag video index.

``from llama_index.retrievers.vrag import VideoRetriever``
"""

from llama_index.retrievers.vrag.base import (
    LLM_METADATA_KEYS,
    VideoRetriever,
    filters_to_options,
    hit_to_node,
    keyframe_node,
    node_to_hit,
)

__all__ = [
    "LLM_METADATA_KEYS",
    "VideoRetriever",
    "filters_to_options",
    "hit_to_node",
    "keyframe_node",
    "node_to_hit",
]
