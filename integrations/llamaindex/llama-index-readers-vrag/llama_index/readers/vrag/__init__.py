"""Videos as LlamaIndex documents, one per segment: ``from llama_index.readers.vrag import VideoReader``."""

from llama_index.readers.vrag.base import VideoReader

__all__ = ["VideoReader"]
