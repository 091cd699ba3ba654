"""One exception tree. Every message names the file (when there is one) and says what to do.

Catch :class:`VragError` to handle anything vrag raises on purpose; the subclasses tell the stage.
Never match on message text: use the class and its attributes.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "CorruptVideoError",
    "DecodeError",
    "IndexDamagedError",
    "IndexLockedError",
    "LLMError",
    "MediaError",
    "ModelUnavailableError",
    "NoVideoStreamError",
    "NotAVideoError",
    "SchemaMismatchError",
    "StoreError",
    "StoreFullError",
    "SubtitleError",
    "UnknownNameError",
    "VideoNotFoundError",
    "VragError",
    "WeightsUnavailableError",
    "WorkerError",
]


class VragError(Exception):
    """Root of every error vrag raises on purpose."""


class ConfigError(VragError, ValueError):
    """A setting, option or argument is invalid."""


class UnknownNameError(ConfigError, KeyError):
    """A registry name (encoder, chunker, shot detector, ...) does not exist.

    Attributes:
        kind: what was looked up, e.g. ``"shot detector"``.
        name: the name asked for.
        suggestions: close matches among the registered names.
    """

    def __init__(self, kind: str, name: str, suggestions: list[str], available: list[str]) -> None:
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Registered: {', '.join(available) or 'none'}.")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ModelUnavailableError(VragError):
    """A model's weights (or an optional package it needs) are not available here."""


class WeightsUnavailableError(ModelUnavailableError):
    """Weights for a hub id are not cached here and could not be downloaded.

    Attributes:
        model_id: the hub id asked for.
        looked_in: the Hugging Face cache directory searched.
    """

    def __init__(self, model_id: str, looked_in: str, reason: str) -> None:
        self.model_id, self.looked_in = model_id, looked_in
        super().__init__(
            f"{model_id}: weights are not in the Hugging Face cache ({looked_in}) and could not be "
            f"downloaded ({reason}). On a machine with network run `hf download {model_id} --local-dir DIR`, "
            "copy DIR here and pass the directory (create_encoder('DIR') or --encoder DIR), or point "
            "HF_HUB_CACHE at a cache that has it"
        )


class LLMError(VragError):
    """A language model could not be reached or gave no usable reply (the message names the endpoint)."""


class MediaError(VragError):
    """A file could not be used as a video. ``path`` names it; the message says what to do."""

    fix = "check that it plays in a video player, or re-encode it: ffmpeg -i IN -c:v libx264 OUT.mp4"

    def __init__(self, path: str | Path, problem: str, fix: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}; {fix or self.fix}")


class VideoNotFoundError(MediaError, FileNotFoundError):
    """The path does not exist, or is a directory where a file was expected."""

    fix = "check the path (quote it if it has spaces), or pass a folder to scan it"


class NotAVideoError(MediaError):
    """The file is not a video at all: empty, text, a still image, or an unknown format."""

    fix = "pass a video file (mp4, mkv, webm, mov, avi, ...); images and other files are not indexed"


class NoVideoStreamError(NotAVideoError):
    """The container has no video stream (for example an audio-only file)."""

    fix = "pass a file with a video track; audio-only files are not indexed as video"


class CorruptVideoError(MediaError):
    """The file claims to be a video but is truncated or damaged."""

    fix = "re-download or re-encode it: ffmpeg -err_detect ignore_err -i IN -c:v libx264 OUT.mp4"


class DecodeError(MediaError):
    """Frames could not be decoded at the requested times."""


class WorkerError(MediaError):
    """A decode/chunk worker process died while working on this file (the rest of the batch goes on)."""

    fix = (
        "if this happens for every file, your script starts indexing at import time: put it under "
        "`if __name__ == '__main__':` (worker processes re-import it) or set workers=0; otherwise the file "
        "crashes the decoder: re-encode it with ffmpeg -i IN -c:v libx264 OUT.mp4"
    )


class SubtitleError(MediaError):
    """A subtitle file is malformed or unreadable. ``path`` names it and ``line`` the bad line (1-based)."""

    fix = "fix or delete the subtitle file (it must be SRT or WebVTT: 'HH:MM:SS,mmm --> HH:MM:SS,mmm' lines)"

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None, fix: str | None = None):
        self.line = line
        super().__init__(path, f"line {line}: {problem}" if line else problem, fix)


class StoreError(VragError):
    """The index could not be opened, read or written. ``location`` names it; the message says what to do.

    Attributes:
        location: the index folder, ``:memory:``, or the server URL and collection prefix.
        problem: what went wrong, without the fix.
    """

    fix = "check the index location; if it is damaged, `vrag check --repair` sets the damage aside"

    def __init__(self, location: str, problem: str, fix: str | None = None) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}; {fix or self.fix}")


class SchemaMismatchError(StoreError):
    """The index was built with other encoders, dimensions or chunking than the ones asked for now.

    Attributes:
        differences: one line per difference, e.g. ``"encoder 'videomae-base' dim 768 vs index 512"``.
    """

    def __init__(self, location: str, differences: list[str], fix: str) -> None:
        self.differences = tuple(differences)
        super().__init__(location, "index was built differently: " + "; ".join(differences), fix)


class IndexLockedError(StoreError):
    """Another writer (this process or another one) holds the index; readers are never refused.

    Attributes:
        pid: the holder's process id when known.
    """

    def __init__(self, location: str, pid: int | None, *, same_process: bool = False) -> None:
        self.pid = pid
        if same_process:
            problem = "index is already being written in this process"
            fix = "reuse the open Store, or close() it before writing the folder again"
        else:
            holder = f"process {pid}" if pid else "another process"
            problem = f"index is being written by {holder}"
            fix = "wait for it to finish or stop it (searches work meanwhile), or pass another --index DIR"
        super().__init__(location, problem, fix)


class StoreFullError(StoreError):
    """No space left where the index (or a read snapshot of it) is written; nothing half-written shows."""

    fix = "free some space on that disk, or move the index to a larger one"


class IndexDamagedError(StoreError):
    """Part of the index cannot be read back: a damaged shard file. Nothing damaged is served.

    Attributes:
        shard: which shard (``"segments"`` or ``"videos"``).
    """

    def __init__(self, location: str, shard: str, problem: str) -> None:
        self.shard = shard
        fix = (
            f"run `vrag check --index {location}` to see what is damaged, then `vrag check --repair` and "
            "`vrag index` the videos it lists"
        )
        super().__init__(location, f"the {shard} shard is damaged ({problem})", fix)
