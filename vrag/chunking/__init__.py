"""Shot detection and chunking: cut a video into shots, then into meaningful, searchable segments.

Example:
    >>> from vrag.chunking import chunk_video, detect_shots
    >>> shots = detect_shots("talk.mp4")  # doctest: +SKIP
    >>> segments = chunk_video("talk.mp4", chunker="semantic", max_duration=30.0)  # doctest: +SKIP
    >>> segments[0].start, segments[0].keyframes, segments[0].text  # doctest: +SKIP
    (0.0, (1.52, 4.8), 'Welcome to the talk.')
"""

from vrag.chunking._semantic import (
    CHUNKERS,
    Chunker,
    FixedChunker,
    SemanticChunker,
    ShotChunker,
    assign_cues,
    chunk_video,
    color_embedding,
)
from vrag.chunking._shots import (
    SHOT_DETECTORS,
    HistogramDetector,
    ShotDetector,
    detect_shots,
    shots_from_boundaries,
)
from vrag.chunking._transnet import TransNetV2Detector

__all__ = [
    "CHUNKERS",
    "SHOT_DETECTORS",
    "Chunker",
    "FixedChunker",
    "HistogramDetector",
    "SemanticChunker",
    "ShotChunker",
    "ShotDetector",
    "TransNetV2Detector",
    "assign_cues",
    "chunk_video",
    "color_embedding",
    "detect_shots",
    "shots_from_boundaries",
]
