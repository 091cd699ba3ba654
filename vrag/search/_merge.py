"""Temporal merge: hits of one video that touch or overlap become one span."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vrag.types import Hit


def merge_hits(hits: Sequence[Hit], *, gap: float = 0.5) -> list[Hit]:
    """Merge hits of the same video whose spans overlap or are at most ``gap`` seconds apart.

    A merged span keeps the best score and keyframe of its parts and their texts in time order; the result
    is ordered by score, best first.
    """
    by_video: dict[str, list[Hit]] = {}
    for hit in hits:
        by_video.setdefault(hit.video_id, []).append(hit)
    merged = [
        span
        for group in by_video.values()
        for span in _merge_sorted(sorted(group, key=lambda h: h.start), gap)
    ]
    return sorted(merged, key=lambda h: -h.score)


def _merge_sorted(hits: list[Hit], gap: float) -> list[Hit]:
    out: list[list[Hit]] = []
    for hit in hits:
        if out and hit.start <= max(h.end for h in out[-1]) + gap:
            out[-1].append(hit)
        else:
            out.append([hit])
    return [_join(run) for run in out]


def _join(run: list[Hit]) -> Hit:
    if len(run) == 1:
        return run[0]
    best = max(run, key=lambda h: h.score)
    text = "\n".join(dict.fromkeys(h.text for h in run if h.text))
    scores: dict[str, float] = {}
    for hit in run:
        for channel, score in hit.channel_scores.items():
            scores[channel] = max(score, scores.get(channel, score))
    return replace(best, start=run[0].start, end=max(h.end for h in run), text=text, channel_scores=scores)
