"""The index behind a retriever or tool: an open ``VideoIndex``, or a folder opened on first use.

A folder is opened on first use and kept open until the process exits (pydantic fields cannot close it), so a
``VideoRetriever`` and a ``VideoSearchTool`` built from the same path use the same handle. Pass an open
``VideoIndex`` instead to decide when it closes (the folder stays locked against other processes while open).
"""

from __future__ import annotations

import atexit
import difflib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vrag import VideoIndex
from vrag.errors import ConfigError
from vrag.index import SEARCH_OPTIONS

__all__ = ["IndexLike", "check_options", "resolve_index"]

IndexLike = VideoIndex | str | os.PathLike[str]


_opened: dict[str, VideoIndex] = {}
_lock = threading.Lock()


def check_options(options: Mapping[str, Any], *, owner: str) -> dict[str, Any]:
    """``options`` as a dict, after checking each is a ``VideoIndex.search`` option.

    Raises:
        ConfigError: an unknown option (close names are suggested).
    """
    unknown = sorted(set(options) - SEARCH_OPTIONS)
    if unknown:
        hints = [m for name in unknown for m in difflib.get_close_matches(name, SEARCH_OPTIONS, n=1)]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        raise ConfigError(
            f"{owner}: unknown search option(s) {', '.join(unknown)}{hint}; VideoIndex.search takes "
            f"{', '.join(sorted(SEARCH_OPTIONS))}"
        )
    return dict(options)


def as_index_field(index: IndexLike) -> VideoIndex | str:
    """What the pydantic field stores: the index object, or the location as a string (not opened yet)."""
    return index if isinstance(index, VideoIndex) else os.fspath(index)


def resolve_index(index: VideoIndex | str) -> VideoIndex:
    """The open index: ``index`` itself, or the folder it names, opened on first use and then shared.

    Raises:
        ConfigError: no vrag index at that location (says how to build one).
    """
    if isinstance(index, VideoIndex):
        return index
    key = str(Path(index).expanduser().resolve())
    with _lock:
        if key not in _opened:
            from vrag.store import read_schema_record

            if read_schema_record(key) is None:
                raise ConfigError(
                    f"no vrag index at {index}: build one first (`vrag index VIDEOS... --index {index}` or "
                    f"`VideoIndex.open({index!r}).add(videos)`), or pass an open VideoIndex"
                )
            _opened[key] = VideoIndex.open(key)
        return _opened[key]


@atexit.register
def _close_all() -> None:
    with _lock:
        for index in _opened.values():
            index.close()
        _opened.clear()
