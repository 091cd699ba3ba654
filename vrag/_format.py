"""Human-readable times for CLI output and citations."""

from __future__ import annotations


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
