"""``ServeConfig``: how the service listens and what it allows, checked once when it is made."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrag.config import LLMConfig
from vrag.errors import ConfigError

__all__ = ["API_KEY_ENV", "MAX_K", "ServeConfig", "is_loopback", "llm_from_config"]

API_KEY_ENV = "VRAG_API_KEY"
"""The environment variable holding the service's own API key (the Qdrant key is ``VRAG_QDRANT_API_KEY``)."""

MAX_K = 100
"""The most hits (and evidence segments) one request may ask for."""

_MB = 1024 * 1024


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """What ``vrag serve`` listens on and allows.

    Attributes:
        host: address to bind (default loopback only). Any other address needs ``api_key``.
        port: TCP port.
        api_key: when set, every ``/api`` route but ``/api/health`` needs ``Authorization: Bearer <key>``
            (media and keyframe URLs the service hands out carry a signature instead, so ``<video>`` and
            ``<img>`` elements can load them).
        roots: the folders the service may read videos from (media, keyframes, index jobs); default the
            working directory. A file outside them (a symlink pointing out included) is never served.
        cors_origins: origins allowed to call the API from other pages (none by default).
        max_upload_bytes: the largest image or clip a visual search may upload.
        max_body_bytes: the largest body of any other request.
        timeout: seconds a search or an answer may take before the request fails with 504 (an answer also
            gets the ``[llm]`` timeout on top).
        link_ttl: seconds a signed media / keyframe URL stays valid (with ``api_key``).
        search: default search options (the ``[search]`` table of ``vrag.toml``).
        llm: the answering model (the ``[llm]`` table); requests cannot choose another.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    roots: Sequence[str | os.PathLike[str]] = ()
    cors_origins: Sequence[str] = ()
    max_upload_bytes: int = 64 * _MB
    max_body_bytes: int = 1 * _MB
    timeout: float = 60.0
    link_ttl: float = 3600.0
    search: Mapping[str, Any] = field(default_factory=dict)
    llm: LLMConfig = field(default_factory=LLMConfig)

    def __post_init__(self) -> None:
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        key = self.api_key.strip() if self.api_key else None
        fix("api_key", key or None)
        if not is_loopback(self.host) and self.api_key is None:
            raise ConfigError(
                f"refusing to listen on {self.host} without an API key: anyone who can reach it could read "
                f"and delete the index; set --api-key or ${API_KEY_ENV}, or keep --host 127.0.0.1"
            )
        if self.api_key is not None and len(self.api_key) < 16:
            raise ConfigError(
                "the API key is too short: use 16 characters or more (e.g. `openssl rand -hex 24`)"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535, got {self.port}")
        fix("roots", tuple(_root(r) for r in (self.roots or (Path.cwd(),))))
        fix("cors_origins", tuple(self.cors_origins))
        for name in ("max_upload_bytes", "max_body_bytes", "timeout", "link_ttl"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")


def _root(path: str | os.PathLike[str]) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"--root {path}: not a folder; give a folder the server may read videos from")
    return folder.resolve()


def llm_from_config(settings: LLMConfig) -> Callable[[str], str] | None:
    """The answering model the ``[llm]`` table names (its key read from ``api_key_env``), or None."""
    from vrag.llm import resolve_llm

    if not settings.model:
        return None
    key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
    return resolve_llm(settings.model, base_url=settings.base_url, api_key=key, timeout=settings.timeout)
