"""One small registry type shared by every pluggable stage (shot detectors, chunkers, encoders, ...).

Names map to factories. ``create`` checks override keys against the factory's signature, so a typo'd
option raises instead of being ignored, and an unknown name raises with close-match suggestions.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vrag.errors import ConfigError, UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    description: str
    test_only: bool = False


class Registry(Generic[T]):
    """Name → factory table for one kind of component.

    Example:
        >>> reg: Registry[int] = Registry("number")
        >>> reg.register("seven", lambda *, plus=0: 7 + plus, description="seven")
        >>> reg.create("seven", plus=1)
        8
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, factory: Callable[..., T], *, description: str = "", test_only: bool = False
    ) -> None:
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is already registered; pick another name")
        self._entries[name] = Entry(name, factory, description, test_only)

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            raise UnknownNameError(self.kind, name, close, self.names()) from None

    def create(self, name: str, **overrides: Any) -> T:
        factory = self.entry(name).factory
        check_overrides(f"{self.kind} {name!r}", factory, overrides)
        return factory(**overrides)


def check_overrides(what: str, factory: Callable[..., Any], overrides: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for keys ``factory`` does not accept (unless it takes ``**kwargs``)."""
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        accepted = sorted(n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL)
        raise ConfigError(f"{what} does not take {', '.join(unknown)}; it accepts: {', '.join(accepted)}")
