"""vrag rerankers as a LlamaIndex node postprocessor: ``from llama_index.postprocessor.vrag_rerank import
VideoReranker``."""

from llama_index.postprocessor.vrag_rerank.base import VideoReranker, llm_as_callable

__all__ = ["VideoReranker", "llm_as_callable"]
