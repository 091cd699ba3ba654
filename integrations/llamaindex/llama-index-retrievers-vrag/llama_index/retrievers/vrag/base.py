"""``VideoRetriever``: moments of videos from a vrag index as LlamaIndex nodes.

All search work happens in :meth:`vrag.VideoIndex.search`; this module converts its ``Hit`` results to
``NodeWithScore`` (a ``TextNode`` per hit, plus an ``ImageNode`` of its keyframe when asked).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import BaseNode, ImageNode, NodeWithScore, QueryBundle, TextNode

from vrag import Hit, VideoIndex
from vrag.errors import ConfigError
from vrag.index import SEARCH_OPTIONS

__all__ = ["LLM_METADATA_KEYS", "VideoRetriever", "hit_to_node", "keyframe_node", "node_id", "node_to_hit"]

NODE_NAMESPACE = uuid.UUID("5b0f6c4e-0d7a-5c55-9a63-3f2f1d6a7e10")
"""uuid5 namespace of node and document ids (shared with ``llama_index.readers.vrag``)."""

LLM_METADATA_KEYS = ("citation",)
"""The metadata an LLM sees with each passage (the ``[video mm:ss–mm:ss]`` marker to cite)."""


def node_id(video_id: str, start: float, end: float) -> str:
    """The deterministic id of the node (or document) for one span of one video (uuid5 of id + ms times)."""
    return str(uuid.uuid5(NODE_NAMESPACE, f"{video_id}:{round(start * 1000)}:{round(end * 1000)}"))


def hit_to_node(hit: Hit) -> TextNode:
    """A ``TextNode`` holding the hit's evidence text, with ``hit.to_dict()`` (less the text) as metadata.

    Only the citation marker is shown to LLMs and nothing to embedding models, so prompts stay short.
    """
    metadata = {key: value for key, value in hit.to_dict().items() if key != "text"}
    hidden = [key for key in metadata if key not in LLM_METADATA_KEYS]
    return TextNode(
        id_=node_id(hit.video_id, hit.start, hit.end),
        text=hit.text,
        metadata=metadata,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=list(metadata),
    )


def node_to_hit(node: BaseNode) -> Hit:
    """The inverse of :func:`hit_to_node` (its score is the metadata's, not a reranked one)."""
    return Hit.from_dict(node.metadata, text=node.get_content())


def keyframe_node(hit: Hit, *, image_format: Literal["png", "jpeg"] = "jpeg") -> ImageNode:
    """An ``ImageNode`` with the hit's keyframe (the frame on screen at ``hit.keyframe``, or mid-span),
    base64-encoded, and the hit's metadata; its text is the citation marker.
    """
    from PIL import Image

    from vrag.media import open_video

    at = hit.keyframe if hit.keyframe is not None else (hit.start + hit.end) / 2
    frame = open_video(hit.video).frames_at([at]).data[0]
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=image_format.upper())
    text = hit_to_node(hit)
    return ImageNode(
        id_=str(uuid.uuid5(NODE_NAMESPACE, node_id(hit.video_id, hit.start, hit.end) + ":keyframe")),
        text=hit.citation,
        image=base64.b64encode(buffer.getvalue()).decode("ascii"),
        image_mimetype=f"image/{image_format}",
        metadata={**text.metadata, "keyframe": at},
        excluded_llm_metadata_keys=text.excluded_llm_metadata_keys,
        excluded_embed_metadata_keys=text.excluded_embed_metadata_keys,
    )


class VideoRetriever(BaseRetriever):
    """Retrieves the moments of indexed videos that match a query, as LlamaIndex nodes.

    Each hit becomes a ``TextNode`` (its transcript / on-screen text) whose metadata is ``Hit.to_dict()``:
    ``video``, ``video_id``, ``start``, ``end`` (exact seconds), ``score``, ``keyframe``,
    ``channel_scores`` and ``citation``. A ``QueryBundle`` with ``image_path`` searches by that image.

    Args:
        index: an open :class:`vrag.VideoIndex`, or its location (a folder or ``":memory:"``), opened here
            with the configuration it was built with (a folder already open in this process is shared).
        k: how many hits per query.
        video: only these videos (paths or video ids).
        after: only moments starting at or after this time (s).
        before: only moments ending at or before this time (s).
        where: payload filter, field → value or list of values.
        keyframes: also return each hit's keyframe as an ``ImageNode`` (after the ``k`` text nodes, in the
            same order and with the same scores), for multimodal LLMs.
        image_format: ``"jpeg"`` (small) or ``"png"`` (lossless) for keyframes.
        callback_manager: LlamaIndex callbacks.
        **search_options: any other :meth:`vrag.VideoIndex.search` option (``rerank``, ``mmr``,
            ``per_video``, ``merge``, ``channels``, ...).

    Raises:
        ConfigError: an option ``VideoIndex.search`` does not take.

    Example:
        >>> from llama_index.retrievers.vrag import VideoRetriever
        >>> retriever = VideoRetriever(".vrag", k=3)                   # doctest: +SKIP
        >>> for result in retriever.retrieve("gradient descent"):     # doctest: +SKIP
        ...     print(result.metadata["citation"], result.score, result.text)
    """

    def __init__(
        self,
        index: VideoIndex | str | os.PathLike[str],
        *,
        k: int = 5,
        video: str | Sequence[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        where: Mapping[str, Any] | None = None,
        keyframes: bool = False,
        image_format: Literal["png", "jpeg"] = "jpeg",
        callback_manager: CallbackManager | None = None,
        **search_options: Any,
    ) -> None:
        unknown = sorted(set(search_options) - SEARCH_OPTIONS)
        if unknown:
            raise ConfigError(
                f"VideoRetriever: unknown search option(s) {unknown}; VideoIndex.search takes "
                f"{sorted(SEARCH_OPTIONS)}"
            )
        if k < 1:
            raise ConfigError(f"VideoRetriever: k must be at least 1, got {k}")
        if image_format not in ("png", "jpeg"):
            raise ConfigError(f"VideoRetriever: image_format must be 'png' or 'jpeg', got {image_format!r}")
        self._owns_index = not isinstance(index, VideoIndex)
        self.index: VideoIndex = VideoIndex.open(index) if self._owns_index else index
        filters = {"video": video, "after": after, "before": before, "where": where}
        self.search_options: dict[str, Any] = {"k": k, **filters, **search_options}
        self.keyframes, self.image_format = keyframes, image_format
        super().__init__(callback_manager=callback_manager)

    def search(self, query_bundle: QueryBundle) -> list[Hit]:
        """The raw vrag hits for a query bundle (``image_path`` set: search by that image)."""
        if query_bundle.image_path:
            return self.index.search(image=query_bundle.image_path, **self.search_options)
        return self.index.search(query_bundle.query_str, **self.search_options)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.search(query_bundle)
        nodes = [NodeWithScore(node=hit_to_node(hit), score=hit.score) for hit in hits]
        if self.keyframes:
            nodes += [
                NodeWithScore(node=keyframe_node(hit, image_format=self.image_format), score=hit.score)
                for hit in hits
            ]
        return nodes

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)

    def close(self) -> None:
        """Close the index if this retriever opened it (from a location)."""
        if self._owns_index:
            self.index.close()
