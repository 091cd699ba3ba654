"""Still images as query inputs (search by image)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vrag.errors import MediaError, VideoNotFoundError


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file (png, jpg, webp, bmp, ...) as ``[H, W, 3]`` uint8 RGB, decoded by FFmpeg (PyAV).

    Raises:
        VideoNotFoundError: no such file.
        MediaError: the file is not a readable image.
    """
    import av

    file = Path(path)
    if not file.is_file():
        raise VideoNotFoundError(file, "no such image file", "check the path (quote it if it has spaces)")
    try:
        with av.open(str(file)) as container:
            if not container.streams.video:
                raise MediaError(file, "has no picture", "pass an image file (png, jpg, webp, ...)")
            frame = next(container.decode(video=0))
            return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, StopIteration, UnicodeDecodeError) as err:
        raise MediaError(file, f"not a readable image ({err})", "pass a png, jpg or webp file") from err
