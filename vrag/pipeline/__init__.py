"""Ingest: videos in, segments with vectors out, written to the store.

- :class:`Channels` — the encoders behind an index's channels (loaded on first use), the store schema of a new
  index and the pipeline *fingerprint* that is part of every segment id.
- :func:`plan_video` / :func:`decode_clips` / :func:`encode_clips` — the per-video work any engine runs.
- :class:`Ingestor` — the local engine: worker processes plan and decode, the main process encodes and writes
  each video with the store's two-phase commit (a crash never leaves half a video; a re-run finishes it).
- :class:`ProgressTracker` / :class:`IngestProgress` — engine-neutral progress: an engine reports each step,
  listeners (the terminal bars, ``VideoIndex.add(on_progress=)``) get a frozen snapshot with an ETA.

``import vrag.pipeline`` does not import torch.
"""

from vrag.pipeline._channels import (
    INGEST_SETTINGS,
    PIPELINE_VERSION,
    ChannelInfo,
    Channels,
    channel_name,
    resolve_ocr,
)
from vrag.pipeline._ingest import (
    FileFailure,
    Ingestor,
    IngestProgress,
    IngestReport,
    ProgressCallback,
    ProgressTracker,
    auto_workers,
)
from vrag.pipeline._plan import AsrMode, VideoPlan, decode_clips, encode_clips, forget_sources, plan_video

__all__ = [
    "INGEST_SETTINGS",
    "PIPELINE_VERSION",
    "AsrMode",
    "ChannelInfo",
    "Channels",
    "FileFailure",
    "IngestProgress",
    "IngestReport",
    "Ingestor",
    "ProgressCallback",
    "ProgressTracker",
    "VideoPlan",
    "auto_workers",
    "channel_name",
    "decode_clips",
    "encode_clips",
    "forget_sources",
    "plan_video",
    "resolve_ocr",
]
