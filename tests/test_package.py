"""The public surface: cheap import, pinned exports, registry behaviour, time formatting."""

from __future__ import annotations

import subprocess
import sys

import pytest

import vrag
from vrag._format import span, timestamp
from vrag._registry import Registry
from vrag.errors import ConfigError, UnknownNameError, VragError


def test_import_is_cheap() -> None:
    code = (
        "import sys, vrag; heavy = {'torch', 'av', 'decord', 'transformers', 'qdrant_client'}"
        " & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_exported_members_are_pinned() -> None:
    assert vrag.__all__ == [
        "Hit",
        "IndexConfig",
        "VideoIndex",
        "VragError",
        "__version__",
        "chunk_video",
        "open_video",
        "scan_videos",
    ]
    for name in vrag.__all__:
        assert getattr(vrag, name) is not None
    with pytest.raises(AttributeError):
        _ = vrag.no_such_thing


def _registry() -> Registry[int]:
    reg: Registry[int] = Registry("widget")
    reg.register("alpha-small", lambda *, size=1: size, description="a")
    reg.register("alpha-large", lambda *, size=10: size, description="b")
    return reg


def test_registry_creates_with_overrides() -> None:
    reg = _registry()
    assert reg.create("alpha-small") == 1
    assert reg.create("alpha-small", size=3) == 3
    assert reg.names("alpha-*") == ["alpha-large", "alpha-small"]


def test_registry_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownNameError) as info:
        _registry().create("alpha-smal")
    assert info.value.suggestions[0] == "alpha-small"
    assert "Did you mean 'alpha-small'" in str(info.value)
    assert isinstance(info.value, VragError)


def test_registry_rejects_unknown_override_keys() -> None:
    with pytest.raises(ConfigError, match="does not take sise; it accepts: size"):
        _registry().create("alpha-small", sise=3)


def test_registry_rejects_duplicate_names() -> None:
    reg = _registry()
    with pytest.raises(ConfigError, match="already registered"):
        reg.register("alpha-small", lambda: 0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "00:00.0"), (59.96, "01:00.0"), (83.24, "01:23.2"), (3725.0, "1:02:05.0"), (7199.94, "1:59:59.9")],
)
def test_timestamp(seconds: float, text: str) -> None:
    assert timestamp(seconds) == text


def test_span_uses_an_en_dash() -> None:
    assert span(1.0, 2.5) == "00:01.0–00:02.5"
