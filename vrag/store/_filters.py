"""Payload filters as users write them (``{"speech": "yes", "n": [1, 2]}``), checked before the engine sees
them: the engine panics on integers past 64 bits and matches nothing on mixed or boolean values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vrag.errors import ConfigError

__all__ = ["check_payload_filter", "filter_values"]

_INT64 = (-(2**63), 2**63 - 1)


def filter_values(key: str, value: Any) -> tuple[str, ...] | tuple[int, ...]:
    """The values one filter field matches (any of them), checked.

    Raises:
        ConfigError: not str or int values (or a list of one kind), or an int outside 64 bits.
    """
    values = tuple(value) if isinstance(value, list | tuple | set | frozenset) else (value,)
    strings = all(isinstance(v, str) for v in values)
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    if not key or not isinstance(key, str) or not values or not (strings or ints):
        raise ConfigError(
            f"filter {key!r}: match str or int values (or a list of one kind), got {value!r}; "
            "use after/before for times"
        )
    if ints and not all(_INT64[0] <= v <= _INT64[1] for v in values):
        raise ConfigError(f"filter {key!r}: {value!r} is outside the 64-bit integer range the index stores")
    return values


def check_payload_filter(where: Mapping[str, Any]) -> dict[str, Any]:
    """``where`` as a dict after checking every field (see :func:`filter_values`)."""
    if not isinstance(where, Mapping):
        raise ConfigError(f"a payload filter is a mapping of field → value(s), got {where!r}")
    for key, value in where.items():
        filter_values(key, value)
    return dict(where)
