"""``VideoSource``: one opened video, its metadata, and frame access at exact (PTS) times."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vrag.errors import ConfigError, DecodeError
from vrag.media._decode import BackendFailed, DecordDecoder, PyAVDecoder, choose_backend, empty_batch, rotate
from vrag.media._probe import Probe, probe
from vrag.types import Frames, StreamInfo

log = logging.getLogger(__name__)

_BACKENDS = ("auto", "decord", "pyav")
_TIME_EPS = 1e-6  # a requested time this close to a frame's time counts as that frame's time
_DECODE_CHUNK = 256  # frames_at decodes at most this many frames at once
_DAMAGED_FIX = "ask for other times, or repair it: ffmpeg -err_detect ignore_err -i IN -c:v libx264 OUT.mp4"
_PUBLIC_FIELDS: tuple[str, ...] = ("path", "video_id", "duration", "fps", "is_vfr", "width", "height")
_PUBLIC_FIELDS += ("rotation", "codec", "start_time", "audio_streams", "subtitle_streams", "frame_times")


def open_video(path: str | os.PathLike[str], *, backend: str = "auto") -> VideoSource:
    """Open and validate a video file. Cheap: reads packet headers and decodes one frame.

    Args:
        path: the video file.
        backend: ``"auto"`` (PyAV: measured fastest, see BENCHMARKS.md), ``"pyav"``, or ``"decord"``
            (used unless the file is rotated, damaged or has unusable timestamps; any decord error
            at decode time switches the source to PyAV).

    Raises:
        VideoNotFoundError: the path does not exist or is a folder.
        NotAVideoError: empty, text, still image or unknown format (NoVideoStreamError: audio only).
        CorruptVideoError: a video container that is truncated or damaged beyond use.
    """
    if backend not in _BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(_BACKENDS)}, not {backend!r}")
    return VideoSource(probe(path), backend=backend)


class VideoSource:
    """An opened video: metadata plus frames at exact presentation times.

    Times are seconds from the container's start (a normal video's first frame is at ``0.0``), taken
    from each frame's PTS, so variable frame rate and offset starts are right. Frames come back as
    uint8 RGB, rotated as a player shows them. Create one with :func:`open_video`. Not thread-safe:
    use one per thread (it keeps its decoder position between calls, so consecutive reads are cheap).

    Example:
        >>> import pathlib, tempfile
        >>> from tests.synth import write_video
        >>> from vrag.media import open_video
        >>> path = write_video(pathlib.Path(tempfile.mkdtemp()) / "clip.mp4", n_frames=50, fps=25)
        >>> with open_video(path) as video:
        ...     frames = video.frames_at([0.0, 1.0], size=(32, 24))
        >>> frames.data.shape, frames.times.tolist(), frames.indices.tolist()
        ((2, 24, 32, 3), [0.0, 1.0], [0, 25])
        >>> round(video.duration, 3), video.frame_count, video.backend
        (2.0, 50, 'pyav')

    Attributes:
        path: the file.
        video_id: content hash (size + sampled blocks); changes when the file's content changes.
        duration: seconds, up to the end of the last frame.
        fps: average frame rate (frames / time between the first and last frame).
        is_vfr: True when frame intervals vary (variable frame rate).
        width: frame width as displayed (after rotation).
        height: frame height as displayed (after rotation).
        rotation: clockwise degrees applied for display (0, 90, 180 or 270).
        frame_count: number of frames in the time index.
        codec: video codec name, e.g. ``"h264"``.
        start_time: the container's start offset in seconds (already subtracted from all times).
        audio_streams: the audio streams.
        subtitle_streams: the subtitle streams.
        frame_times: float64 ``[frame_count]``: each frame's time, in presentation order (read-only).
        backend: ``"decord"`` or ``"pyav"``: what decodes this file (may switch to PyAV on a decord error).
    """

    path: Path
    video_id: str
    duration: float
    fps: float
    is_vfr: bool
    width: int
    height: int
    rotation: int
    codec: str
    start_time: float
    audio_streams: tuple[StreamInfo, ...]
    subtitle_streams: tuple[StreamInfo, ...]
    frame_times: np.ndarray
    backend: str

    def __init__(self, info: Probe, *, backend: str = "auto") -> None:
        self._info = info
        for name in _PUBLIC_FIELDS:
            setattr(self, name, getattr(info, name))
        self.backend = choose_backend(info, backend)
        self._decoders: dict[str, Any] = {}

    @property
    def frame_count(self) -> int:
        return len(self._info.frame_times)

    def __repr__(self) -> str:
        return (
            f"VideoSource({str(self.path)!r}, {self.width}x{self.height}, {self.duration:.3f} s, "
            f"{self.frame_count} frames, {self.codec}, backend={self.backend!r})"
        )

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release decoders (open files). The source stays usable: it reopens on the next read."""
        for decoder in self._decoders.values():
            decoder.close()
        self._decoders.clear()

    def __getstate__(self) -> dict[str, Any]:  # picklable (for worker processes): decoders stay behind
        return {**self.__dict__, "_decoders": {}}

    def _index_at(self, times: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Index of the frame on screen at each time (last frame whose time <= t; clamped to the video)."""
        t = np.clip(np.asarray(times, dtype=np.float64).reshape(-1), 0.0, self.duration)
        idx = np.searchsorted(self._info.frame_times, t + _TIME_EPS, side="right") - 1
        return np.clip(idx, 0, self.frame_count - 1).astype(np.int64)

    def frames_at(
        self, times: float | Sequence[float] | np.ndarray, *, size: tuple[int, int] | None = None
    ) -> Frames:
        """The frame on screen at each time (the last frame whose time <= t), in the order asked.

        Args:
            times: seconds; clamped to ``[0, duration]``. The same frame may come back more than once.
            size: ``(width, height)`` of the output (squashed, not cropped); resized in the decoder.

        Raises:
            DecodeError: a requested frame could not be decoded (the file is damaged there).
        """
        size = _check_size(size)
        wanted = self._index_at(times)
        unique, inverse = np.unique(wanted, return_inverse=True)
        parts = [
            self._decode(unique[k : k + _DECODE_CHUNK], size) for k in range(0, len(unique), _DECODE_CHUNK)
        ]
        got = np.concatenate([p[0] for p in parts]) if parts else unique
        if len(got) != len(unique):
            missing = float(self._info.frame_times[np.setdiff1d(unique, got)[0]])
            problem = f"the frame at {missing:.3f} s could not be decoded (the file is damaged there)"
            raise DecodeError(self.path, problem, _DAMAGED_FIX)
        data = np.concatenate([p[1] for p in parts]) if parts else self._empty(size)[1]
        return Frames(data=data[inverse], times=self._info.frame_times[wanted], indices=wanted)

    def uniform(
        self, n: int, start: float = 0.0, end: float | None = None, *, size: tuple[int, int] | None = None
    ) -> Frames:
        """``n`` frames evenly spread over ``[start, end)``: those on screen at the centres of n equal parts.

        Raises:
            ConfigError: ``n < 1`` or an empty range.
        """
        end = self.duration if end is None else end
        if n < 1 or end <= start:
            raise ConfigError(
                f"{self.path}: uniform() needs n >= 1 and start < end, got n={n}, [{start}, {end})"
            )
        return self.frames_at(start + (np.arange(n) + 0.5) * (end - start) / n, size=size)

    def iter_frames(
        self,
        *,
        fps: float | None = None,
        start: float = 0.0,
        end: float | None = None,
        size: tuple[int, int] | None = None,
        batch: int = 256,
    ) -> Iterator[Frames]:
        """Stream the frames on screen during ``[start, end)`` in batches (memory: one batch).

        Args:
            fps: None for every frame; else the frames on screen at ``start + k / fps`` (each frame
                once, so a rate above the video's gives every frame).
            start: seconds.
            end: seconds (default: the end of the video).
            size: ``(width, height)`` of the output (squashed, not cropped).
            batch: frames per yielded :class:`Frames`.

        Frames of a damaged file that cannot be decoded are left out (logged), never invented.
        """
        size = _check_size(size)
        if batch < 1 or (fps is not None and fps <= 0):
            raise ConfigError(
                f"{self.path}: iter_frames() needs batch >= 1 and fps > 0, got {batch=}, {fps=}"
            )
        wanted = self._wanted(fps, start, self.duration if end is None else end)
        for k in range(0, len(wanted), batch):
            chunk = wanted[k : k + batch]
            got, data = self._decode(chunk, size)
            if len(got) < len(chunk):
                log.warning(
                    "%s: %d frames could not be decoded (damaged data)", self.path, len(chunk) - len(got)
                )
            if len(got):
                yield Frames(data=data, times=self._info.frame_times[got], indices=got)

    def audio(self, *, sample_rate: int = 16000) -> np.ndarray:
        """The first audio stream as float32 mono at ``sample_rate`` Hz; empty when there is none.

        Sample ``k`` plays at ``k / sample_rate`` seconds on the same clock as the frame times.
        """
        from vrag.media._decode import decode_audio

        return decode_audio(self._info, sample_rate)

    def _wanted(self, fps: float | None, start: float, end: float) -> np.ndarray:
        first = int(self._index_at(start)[0])
        if end <= start:
            return np.empty(0, np.int64)
        if fps is None:
            stop = int(np.searchsorted(self._info.frame_times, end - _TIME_EPS, side="left"))
            return np.arange(first, max(stop, first + 1), dtype=np.int64)
        targets = start + np.arange(int(np.ceil((end - start) * fps - _TIME_EPS))) / fps
        return np.unique(self._index_at(targets[targets < end]))

    def _decode(self, indices: np.ndarray, size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        """Decode sorted unique indices with the chosen backend; display-sized, rotated frames."""
        if not len(indices):
            return self._empty(size)
        rot = self._info.rotation
        stored = (size[1], size[0]) if size and rot in (90, 270) else size
        if self.backend == "decord":
            try:
                got, data = self._decoder("decord").decode(indices, stored)
                return got, rotate(data, rot)
            except BackendFailed as err:
                log.warning("%s: switching to PyAV: %s", self.path, err)
                self.backend = "pyav"
                self._decoders.pop("decord").close()
        got, data = self._decoder("pyav").decode(indices, stored)
        return got, rotate(data, rot)

    def _decoder(self, name: str) -> Any:
        if name not in self._decoders:
            self._decoders[name] = DecordDecoder(self._info) if name == "decord" else PyAVDecoder(self._info)
        return self._decoders[name]

    def _empty(self, size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        return empty_batch(size or (self.width, self.height))


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"size must be (width, height) in pixels, got {size!r}") from err
    if w < 1 or h < 1 or (w, h) != tuple(size):
        raise ConfigError(f"size must be two positive whole numbers (width, height), got {size!r}")
    return w, h
