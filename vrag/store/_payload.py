"""Point payloads: one layout that vrag, LlamaIndex's and LangChain's stock Qdrant stores all read.

A segment payload holds vrag's own keys (``video_id``, ``video``, ``start``, ``end``, ``text``, ...), the
LlamaIndex keys (``_node_content`` = a TextNode as JSON, ``_node_type``, ``doc_id``, ``document_id``,
``ref_doc_id``; its flat metadata are the top-level ``video_id``/``video``/``start``/``end``) and the
LangChain keys (``page_content``, ``metadata``). ``state`` and ``generation`` drive the two-phase commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from vrag.store._records import (
    SegmentRecord,
    StoredHit,
    StoredSegment,
    StoredVideo,
    VideoHit,
    VideoRecord,
)

PENDING, COMMITTED = "pending", "committed"
"""Values of the ``state`` (segments) and ``status`` (videos) payload keys."""

_TEXT_TEMPLATE = "{metadata_str}\n\n{content}"


def segment_payload(
    rec: SegmentRecord, *, point_id: str, channels: list[str], fingerprint: str, generation: str
) -> dict[str, Any]:
    """The payload of a new (pending) segment point."""
    flat = {"video_id": rec.video_id, "video": rec.video, "start": float(rec.start), "end": float(rec.end)}
    if rec.keyframes:
        flat["keyframe"] = float(rec.keyframes[0])
    return {
        **flat,
        "text": rec.text,
        "keyframes": [float(t) for t in rec.keyframes],
        "shots": [[float(s), float(e)] for s, e in rec.shots],
        "channels": channels,
        "extra": dict(rec.extra),
        "fingerprint": fingerprint,
        "state": PENDING,
        "generation": generation,
        **_llamaindex_keys(point_id, rec, {**flat, **rec.extra}),
        "page_content": rec.text,
        "metadata": {
            **flat,
            **rec.extra,
            "segment_id": point_id,
            "keyframes": [float(t) for t in rec.keyframes],
        },
    }


def _llamaindex_keys(point_id: str, rec: SegmentRecord, metadata: dict[str, Any]) -> dict[str, Any]:
    """Keys written by ``llama_index.core.vector_stores.utils.node_to_metadata_dict`` for a TextNode."""
    node: dict[str, Any] = {
        "id_": point_id,
        "embedding": None,
        "metadata": metadata,
        "excluded_embed_metadata_keys": sorted(metadata),
        "excluded_llm_metadata_keys": ["video_id", "cues"],  # cue offsets mean nothing to a model
        "relationships": {
            "1": {
                "node_id": rec.video_id,
                "node_type": "4",
                "metadata": {},
                "hash": None,
                "class_name": "RelatedNodeInfo",
            }
        },
        "metadata_template": "{key}: {value}",
        "metadata_separator": "\n",
        "text": rec.text,
        "mimetype": "text/plain",
        "start_char_idx": None,
        "end_char_idx": None,
        "text_template": _TEXT_TEMPLATE,
        "class_name": "TextNode",
    }
    return {
        "_node_content": json.dumps(node, ensure_ascii=False),
        "_node_type": "TextNode",
        "document_id": rec.video_id,
        "doc_id": rec.video_id,
        "ref_doc_id": rec.video_id,
    }


def video_payload(
    rec: VideoRecord, *, n_segments: int, fingerprint: str, generation: str, channels: list[str]
) -> dict[str, Any]:
    """The payload of a committed video point."""
    return {
        "video_id": rec.video_id,
        "path": rec.path,
        "duration": float(rec.duration),
        "hash": rec.hash,
        "n_segments": n_segments,
        "fingerprint": fingerprint,
        "generation": generation,
        "channels": channels,
        "extra": dict(rec.extra),
        "status": COMMITTED,
    }


def _segment_fields(point_id: str, payload: Mapping[str, Any], vectors: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": point_id,
        "video_id": str(payload["video_id"]),
        "video": str(payload.get("video", "")),
        "start": float(payload["start"]),
        "end": float(payload["end"]),
        "text": str(payload.get("text", "")),
        "keyframes": tuple(float(t) for t in payload.get("keyframes", ())),
        "shots": tuple((float(s), float(e)) for s, e in payload.get("shots", ())),
        "channels": tuple(payload.get("channels", ())),
        "extra": dict(payload.get("extra") or {}),
        "vectors": {k: np.asarray(v, dtype=np.float32) for k, v in vectors.items() if isinstance(v, list)},
    }


def to_segment(point_id: str, payload: Mapping[str, Any], vectors: Mapping[str, Any]) -> StoredSegment:
    return StoredSegment(**_segment_fields(point_id, payload, vectors))


def to_hit(
    point_id: str, payload: Mapping[str, Any], score: float, vectors: Mapping[str, Any] | None = None
) -> StoredHit:
    return StoredHit(**_segment_fields(point_id, payload, vectors or {}), score=float(score))


def _video_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "video_id": str(payload["video_id"]),
        "path": str(payload.get("path", "")),
        "duration": float(payload.get("duration", 0.0)),
        "hash": str(payload.get("hash", "")),
        "n_segments": int(payload.get("n_segments", 0)),
        "fingerprint": str(payload.get("fingerprint", "")),
        "channels": tuple(payload.get("channels", ())),
        "extra": dict(payload.get("extra") or {}),
    }


def to_video(payload: Mapping[str, Any]) -> StoredVideo:
    return StoredVideo(**_video_fields(payload))


def to_video_hit(payload: Mapping[str, Any], score: float) -> VideoHit:
    return VideoHit(**_video_fields(payload), score=float(score))
