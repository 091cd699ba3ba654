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
from typing import Any, Literal

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import BaseNode, ImageNode, NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from vrag import Hit, VideoIndex
from vrag.errors import ConfigError
from vrag.search import SearchOptions

__all__ = [
    "LLM_METADATA_KEYS",
    "VideoRetriever",
    "filters_to_options",
    "hit_to_node",
    "keyframe_node",
    "node_to_hit",
]

KEYFRAME_NAMESPACE = uuid.UUID("5b0f6c4e-0d7a-5c55-9a63-3f2f1d6a7e10")
"""uuid5 namespace of keyframe ``ImageNode`` ids (derived from their span's point id)."""

LLM_METADATA_KEYS = ("citation",)
"""The metadata an LLM sees with each passage (the ``[video mm:ss–mm:ss]`` marker to cite)."""

_BOUNDS = {("start", FilterOperator.GTE): "after", ("end", FilterOperator.LTE): "before"}
"""Time filters as vrag's ``after`` / ``before`` (both inclusive)."""


def hit_to_node(hit: Hit, *, media_url: str | None = None) -> TextNode:
    """A ``TextNode`` holding the hit's evidence text, with ``hit.to_dict()`` (less the text) as metadata.

    Its id is the segment's point id in the index (``hit.id``); ``llama_index.readers.vrag`` gives a document
    of the same span the same id when it is told the index. Only the citation marker is shown to LLMs and
    nothing to embedding models, so prompts stay short.

    Args:
        media_url: the URL the video is served at, with ``{video_id}``; default the file's ``file://`` URI.
    """
    metadata = {key: value for key, value in hit.to_dict(media_base=media_url).items() if key != "text"}
    hidden = [key for key in metadata if key not in LLM_METADATA_KEYS]
    return TextNode(
        id_=hit.id or None,
        text=hit.text,
        metadata=metadata,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=list(metadata),
    )


def filters_to_options(filters: MetadataFilters) -> dict[str, Any]:
    """LlamaIndex metadata filters as :class:`vrag.search.SearchOptions` fields.

    ``video`` / ``video_id`` ``==`` or ``in`` → ``video`` (paths, file names or ids); ``start >= t`` →
    ``after``; ``end <= t`` → ``before``; any other key ``==`` / ``in`` → ``where`` (a payload field stored
    with the segments). Filters combine with AND (nested AND groups too).

    Raises:
        ConfigError: an operator or condition vrag's search cannot apply (it says which are supported).
    """
    out: dict[str, Any] = {}
    for item in _and_terms(filters):
        key, op = item.key, FilterOperator(item.operator)
        if (key, op) in _BOUNDS:
            name, value = _BOUNDS[(key, op)], item.value
        elif op in (FilterOperator.EQ, FilterOperator.IN):
            values = list(item.value) if isinstance(item.value, list) else item.value
            if key in ("video", "video_id"):
                name, value = "video", values
            else:
                out.setdefault("where", {})
                if key in out["where"]:
                    raise ConfigError(f"filters: {key!r} is filtered twice; give one value or an 'in' list")
                out["where"][key] = values
                continue
        else:
            raise ConfigError(
                f"filters: {key} {op.value} is not supported; vrag filters by key == value, key in [values], "
                "start >= seconds and end <= seconds, combined with AND"
            )
        if name in out:
            raise ConfigError(f"filters: {key!r} is filtered twice; combine the values into one filter")
        out[name] = value
    return out


def _and_terms(filters: MetadataFilters) -> list[MetadataFilter]:
    if filters.condition not in (None, FilterCondition.AND):
        raise ConfigError(
            f"filters: condition {FilterCondition(filters.condition).value!r} is not supported; vrag "
            "combines filters with AND (use an 'in' list for alternatives of one key)"
        )
    return [t for f in filters.filters for t in (_and_terms(f) if isinstance(f, MetadataFilters) else [f])]


def node_to_hit(node: BaseNode) -> Hit:
    """The inverse of :func:`hit_to_node` (its score is the metadata's, not a reranked one)."""
    return Hit.from_dict({"id": node.node_id, **node.metadata}, text=node.get_content())


def keyframe_node(
    hit: Hit, *, image_format: Literal["png", "jpeg"] = "jpeg", media_url: str | None = None
) -> ImageNode:
    """An ``ImageNode`` with the hit's keyframe (the frame on screen at ``hit.keyframe``, or mid-span),
    base64-encoded, and the hit's metadata; its text is the citation marker.
    """
    from PIL import Image

    from vrag.media import open_video

    at = hit.keyframe if hit.keyframe is not None else (hit.start + hit.end) / 2
    frame = open_video(hit.video).frames_at([at]).data[0]
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=image_format.upper())
    text = hit_to_node(hit, media_url=media_url)
    return ImageNode(
        id_=str(uuid.uuid5(KEYFRAME_NAMESPACE, f"{text.node_id}:keyframe")),
        text=hit.citation,
        image=base64.b64encode(buffer.getvalue()).decode("ascii"),
        image_mimetype=f"image/{image_format}",
        metadata={**text.metadata, "keyframe": at},
        excluded_llm_metadata_keys=text.excluded_llm_metadata_keys,
        excluded_embed_metadata_keys=text.excluded_embed_metadata_keys,
    )


class VideoRetriever(BaseRetriever):
    """Retrieves the moments of indexed videos that match a query, as LlamaIndex nodes.

    Each hit becomes a ``TextNode`` (its transcript / on-screen text) whose id is the segment's point id in
    the index and whose metadata is ``Hit.to_dict()``: ``video``, ``video_id``, ``start``, ``end`` (exact
    seconds), ``score``, ``raw_score``, ``keyframe``, ``channel_scores``, ``citation`` and ``url`` (playable,
    with a media fragment: ``file:///…/talk.mp4#t=12.0,24.0``). ``NodeWithScore.score`` is the relevance in
    [0, 1] (see the package README), so stock cutoffs such as
    ``SimilarityPostprocessor(similarity_cutoff=0.5)`` apply. A ``QueryBundle`` with ``image_path`` searches
    by that image.

    Args:
        index: an open :class:`vrag.VideoIndex`, or its location (a folder or ``":memory:"``), opened here
            with the configuration it was built with (a folder already open in this process is shared).
        similarity_top_k: how many hits per query.
        filters: LlamaIndex ``MetadataFilters`` (see :func:`filters_to_options`: ``video ==``, ``start >=``,
            ``end <=``, payload ``key ==`` / ``in``; AND only).
        keyframes: also return each hit's keyframe as an ``ImageNode`` (after the text nodes, in the same
            order and with the same scores), for multimodal LLMs.
        image_format: ``"jpeg"`` (small) or ``"png"`` (lossless) for keyframes.
        media_url: the URL videos are served at, with ``{video_id}`` (``vrag serve``:
            ``"http://HOST/api/videos/{video_id}/media"``); default each file's ``file://`` URI.
        callback_manager: LlamaIndex callbacks.
        **search_options: any other :class:`vrag.search.SearchOptions` field (``video``, ``after``,
            ``before``, ``where``, ``rerank``, ``mmr``, ``per_video``, ``merge``, ``channels``, ...).

    Raises:
        ConfigError: an option vrag's search does not take, a bad value, or a filter it cannot apply.

    Example:
        >>> from llama_index.core.vector_stores import MetadataFilters
        >>> from llama_index.retrievers.vrag import VideoRetriever
        >>> talk = MetadataFilters.from_dicts([{"key": "video", "value": "talk.mp4"}])
        >>> retriever = VideoRetriever(".vrag", similarity_top_k=3, filters=talk)       # doctest: +SKIP
        >>> for result in retriever.retrieve("gradient descent"):                       # doctest: +SKIP
        ...     print(result.metadata["citation"], result.metadata["url"], result.score)
    """

    def __init__(
        self,
        index: VideoIndex | str | os.PathLike[str],
        *,
        similarity_top_k: int = 5,
        filters: MetadataFilters | None = None,
        keyframes: bool = False,
        image_format: Literal["png", "jpeg"] = "jpeg",
        media_url: str | None = None,
        callback_manager: CallbackManager | None = None,
        **search_options: Any,
    ) -> None:
        if image_format not in ("png", "jpeg"):
            raise ConfigError(f"VideoRetriever: image_format must be 'png' or 'jpeg', got {image_format!r}")
        from_filters = filters_to_options(filters) if filters is not None else {}
        clash = sorted(set(from_filters) & {k for k, v in search_options.items() if v is not None})
        if clash:
            raise ConfigError(f"VideoRetriever: {', '.join(clash)} given both as filters and as keywords")
        self.options: SearchOptions = SearchOptions.from_mapping(
            {"k": similarity_top_k, **search_options, **from_filters}, owner="VideoRetriever"
        )
        self._owns_index = not isinstance(index, VideoIndex)
        self.index: VideoIndex = VideoIndex.open(index, create=False) if self._owns_index else index
        self.keyframes, self.image_format, self.media_url = keyframes, image_format, media_url
        super().__init__(callback_manager=callback_manager)

    @property
    def similarity_top_k(self) -> int:
        return self.options.k

    def search(self, query_bundle: QueryBundle) -> list[Hit]:
        """The raw vrag hits for a query bundle (``image_path`` set: search by that image)."""
        if query_bundle.image_path:
            return self.index.search(image=query_bundle.image_path, options=self.options)
        return self.index.search(query_bundle.query_str, options=self.options)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.search(query_bundle)
        nodes = [NodeWithScore(node=hit_to_node(h, media_url=self.media_url), score=h.score) for h in hits]
        if self.keyframes:
            nodes += [
                NodeWithScore(
                    node=keyframe_node(h, image_format=self.image_format, media_url=self.media_url),
                    score=h.score,
                )
                for h in hits
            ]
        return nodes

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)

    def close(self) -> None:
        """Close the index if this retriever opened it (from a location)."""
        if self._owns_index:
            self.index.close()
