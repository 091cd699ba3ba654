"""LLMs by name for ``vrag ask --llm``: the user's own LangChain or LlamaIndex integration does the talking.

``PROVIDER:MODEL`` (``ollama:llama3.1``, ``openai:gpt-4o-mini``, ...) goes through LangChain's
``init_chat_model`` when ``langchain`` is installed, else through ``llama_index.llms.<provider>``;
``py:MODULE:NAME`` names any ``prompt -> text`` callable (or a class whose instances are one).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from vrag.errors import ConfigError

_LLAMA_CLASSES = {
    "ollama": "Ollama",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "mistralai": "MistralAI",
    "groq": "Groq",
    "google_genai": "GoogleGenAI",
    "huggingface": "HuggingFaceLLM",
}


def resolve_llm(name: str) -> Callable[[str], str]:
    """A ``prompt -> text`` callable for an LLM name (see the module docstring).

    Raises:
        ConfigError: the name is malformed, or no installed framework package serves that provider (the
            message says what to pip install).
    """
    kind, sep, rest = name.partition(":")
    if not sep or not kind or not rest:
        raise ConfigError(f"--llm {name!r}: write PROVIDER:MODEL (e.g. ollama:llama3.1) or py:MODULE:NAME")
    if kind == "py":
        return _python_callable(name, rest)
    if importlib.util.find_spec("langchain") is not None:
        from langchain.chat_models import init_chat_model

        chat = init_chat_model(rest, model_provider=kind)
        return lambda prompt: _text(chat.invoke(prompt).content)
    module = f"llama_index.llms.{kind}"
    if _has_module(module) and kind in _LLAMA_CLASSES:
        llm = getattr(importlib.import_module(module), _LLAMA_CLASSES[kind])(model=rest)
        return lambda prompt: str(llm.complete(prompt).text)
    raise ConfigError(
        f"--llm {name!r}: no installed package serves provider {kind!r}; install one of "
        f"`pip install langchain langchain-{kind.replace('_', '-')}` or "
        f"`pip install llama-index-llms-{kind.replace('_', '-')}`"
    )


def _python_callable(name: str, target: str) -> Callable[[str], str]:
    module, sep, attr = target.rpartition(":")
    if not sep or not module:
        raise ConfigError(f"--llm {name!r}: write py:MODULE:NAME (a prompt -> text callable)")
    try:
        obj: Any = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"--llm {name!r}: cannot import {module}:{attr} ({err})") from err
    if isinstance(obj, type):  # a class: its instances are the callables
        obj = obj()
    if not callable(obj):
        raise ConfigError(f"--llm {name!r}: {module}:{attr} is not callable")
    return lambda prompt: _text(obj(prompt))


def _has_module(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _text(content: Any) -> str:
    """Chat replies may be a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return str(content)
