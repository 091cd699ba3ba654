"""Talking to a language model: one small client for the OpenAI-compatible chat API.

Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI and most hosted providers serve
``POST {base_url}/chat/completions``; :class:`ChatClient` is a ``prompt -> text`` callable over it (httpx, no
SDK). Framework chat models (LangChain, LlamaIndex) enter through the integration packages, which turn them
into the same callable; core vrag names no framework.

Example:
    >>> from vrag.llm import resolve_llm
    >>> llm = resolve_llm("ollama:llama3.1")           # http://localhost:11434/v1, no key
    >>> llm.base_url, llm.model
    ('http://localhost:11434/v1', 'llama3.1')
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from typing import Any

from vrag.errors import ConfigError, LLMError

__all__ = ["PROVIDERS", "ChatClient", "resolve_llm"]

PROVIDERS: dict[str, tuple[str, str | None]] = {
    "ollama": ("http://localhost:11434/v1", None),
    "vllm": ("http://localhost:8000/v1", None),
    "llamacpp": ("http://localhost:8080/v1", None),
    "lmstudio": ("http://localhost:1234/v1", None),
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ("https://api.anthropic.com/v1", "ANTHROPIC_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
}
"""Provider name → (OpenAI-compatible base URL, environment variable holding its API key)."""


class ChatClient:
    """A ``prompt -> text`` callable over an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        model: the model name the server knows (``llama3.1``, ``gpt-4o-mini``, ...).
        base_url: the API root, e.g. ``http://localhost:11434/v1``.
        api_key: sent as ``Authorization: Bearer`` when given.
        timeout: seconds to wait for a reply.
        temperature: sampling temperature (0: the most likely answer).
        max_tokens: cap on the reply length (None: the server's default).

    Raises (when called):
        LLMError: the server cannot be reached, answers with an error, or sends no text.
    """

    def __init__(
        self, model: str, *, base_url: str, api_key: str | None = None, timeout: float = 120.0,
        temperature: float = 0.0, max_tokens: int | None = None,
    ) -> None:  # fmt: skip
        if not model or not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"an LLM needs a model name and an http(s) base URL, got {model!r} at {base_url!r}"
            )
        self.model, self.base_url, self.api_key = model, base_url.rstrip("/"), api_key
        self.timeout, self.temperature, self.max_tokens = timeout, temperature, max_tokens

    def __call__(self, prompt: str) -> str:
        import httpx

        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.temperature,
        }
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            reply = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as err:
            raise LLMError(
                f"{url}: cannot reach the model server ({type(err).__name__}: {err}); start it (e.g. "
                "`ollama serve`) or pass another --llm / [llm] base_url"
            ) from err
        if reply.status_code >= 400:
            raise LLMError(f"{url}: the model server answered {reply.status_code}: {reply.text[:300]}")
        try:
            content = reply.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise LLMError(
                f"{url}: the reply is not an OpenAI-style chat completion: {reply.text[:300]}"
            ) from err
        return _text(content)

    def __repr__(self) -> str:
        return f"ChatClient({self.model!r}, base_url={self.base_url!r})"


def resolve_llm(
    spec: str, *, base_url: str | None = None, api_key: str | None = None, timeout: float = 120.0
) -> Callable[[str], str]:
    """A ``prompt -> text`` callable for an LLM named on the command line or in ``vrag.toml``.

    Forms:
        ``PROVIDER:MODEL`` — a provider of :data:`PROVIDERS` (``ollama:llama3.1``, ``openai:gpt-4o-mini``;
        the key comes from the provider's environment variable unless ``api_key`` is given);
        ``MODEL`` with ``base_url`` — any other OpenAI-compatible server;
        ``py:MODULE:NAME`` — a ``prompt -> text`` callable (or a class whose instances are one).

    Raises:
        ConfigError: a malformed name, an unknown provider, or a Python object that is not a
            ``prompt -> text`` callable.
    """
    kind, sep, rest = spec.partition(":")
    if kind == "py" and sep:
        return _python_callable(spec, rest)
    if sep and kind in PROVIDERS and rest:
        url, key_env = PROVIDERS[kind]
        key = api_key or (os.environ.get(key_env) if key_env else None)
        return ChatClient(rest, base_url=base_url or url, api_key=key, timeout=timeout)
    if base_url and spec:
        return ChatClient(spec, base_url=base_url, api_key=api_key, timeout=timeout)
    raise ConfigError(
        f"--llm {spec!r}: write PROVIDER:MODEL with PROVIDER one of {', '.join(PROVIDERS)} "
        "(e.g. ollama:llama3.1), MODEL with --llm-url URL for another OpenAI-compatible server, or "
        "py:MODULE:NAME for a Python callable"
    )


def _python_callable(spec: str, target: str) -> Callable[[str], str]:
    module, sep, attr = target.rpartition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"--llm {spec!r}: write py:MODULE:NAME (a prompt -> text callable)")
    try:
        obj: Any = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"--llm {spec!r}: cannot import {module}:{attr} ({err})") from err
    if isinstance(obj, type):  # a class: its instances are the callables
        obj = obj()
    if not callable(obj) or not _takes_one_argument(obj):
        raise ConfigError(f"--llm {spec!r}: {module}:{attr} is not a callable that takes a prompt")

    def complete(prompt: str) -> str:
        reply = obj(prompt)
        if not isinstance(reply, str | list):
            raise LLMError(f"--llm {spec!r} returned {type(reply).__name__}, not text")
        return _text(reply)

    return complete


def _takes_one_argument(fn: Any) -> bool:
    try:
        inspect.signature(fn).bind("prompt")
    except TypeError:
        return False
    except ValueError:  # builtins without a signature: let the call decide
        return True
    return True


def _text(content: Any) -> str:
    """Replies may be a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return "" if content is None else str(content)
