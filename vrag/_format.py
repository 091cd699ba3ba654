"""Human-readable times for CLI output and citations, and text that is safe to print on a terminal."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    r"""``text`` with control characters (ESC, NUL, CR, ...) and bidi overrides shown as escapes, not obeyed.

    Newlines and tabs stay. Indexed text comes from files anyone can write (subtitles, file names); printed
    raw, an ESC sequence would drive the terminal.

    Example:
        >>> printable("red\x1b[31m alert\x00")
        'red\\x1b[31m alert\\x00'
    """
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def timestamp(seconds: float, *, decimals: int = 1) -> str:
    """``mm:ss.s`` (or ``h:mm:ss.s`` past an hour), rounded to ``decimals`` places.

    Example:
        >>> timestamp(83.25), timestamp(3725.0, decimals=0)
        ('01:23.2', '1:02:05')
    """
    scale = 10**decimals
    total = round(seconds * scale)
    whole, frac = divmod(total, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tail = f".{frac:0{decimals}d}" if decimals else ""
    head = f"{hours}:{minutes:02d}" if hours else f"{minutes:02d}"
    return f"{head}:{secs:02d}{tail}"


def span(start: float, end: float) -> str:
    """``mm:ss.s–mm:ss.s``."""
    return f"{timestamp(start)}–{timestamp(end)}"


def parse_time(value: float | int | str, *, what: str = "time") -> float:
    """Seconds from ``90``, ``"90"``, ``"1:30"`` or ``"1:02:03.5"``; finite and not negative.

    Example:
        >>> parse_time("1:30"), parse_time(12.5), parse_time("1:00:00")
        (90.0, 12.5, 3600.0)

    Raises:
        ConfigError: not a time (the message names ``what``).
    """
    from vrag.errors import ConfigError

    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected seconds (90) or m:ss (1:30), got {value!r}")
    try:
        if isinstance(value, str):
            parts = value.strip().split(":")
            if not 1 <= len(parts) <= 3 or any(not p.strip() for p in parts):
                raise ValueError(value)
            seconds = 0.0
            for part in parts:
                seconds = seconds * 60 + float(part)
        else:
            seconds = float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{what}: expected seconds (90) or m:ss (1:30), got {value!r}") from err
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        raise ConfigError(f"{what}: must be a finite time of 0 s or more, got {value!r}")
    return seconds
