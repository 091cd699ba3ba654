"""Where weights come from: registry name, ``hf:<hub id>`` or a local directory. Never remote code.

A hub id whose files are neither cached nor downloadable raises :class:`WeightsUnavailableError` naming the
id, the cache it looked in and how to pass a local directory instead. A checkpoint that lacks weights for
part of the model raises too: vrag never embeds with randomly initialised layers outside the test-only
variants.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError, ModelUnavailableError, WeightsUnavailableError

if TYPE_CHECKING:
    from vrag.encoders._base import Runtime

__all__ = [
    "WeightsUnavailableError",
    "family_of",
    "is_offline",
    "load_pretrained",
    "read_json",
    "resolve_source",
]

#: model_type in config.json → family module
FAMILIES = {
    "videomae": "videomae",
    "xclip": "xclip",
    "videoprism": "videoprism",
    "clip": "frames",
    "siglip": "frames",
    "vrag-qformer": "qformer",
    "internvideo2": "internvideo2",
    "qwen3_vl": "qwen3vl",
}
_BENIGN_MISSING = ("position_ids", "num_batches_tracked")


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set: never touch the network."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def cache_dir() -> str:
    from huggingface_hub import constants

    return str(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def resolve_source(name_or_id: str) -> tuple[str, str]:
    """Classify ``name_or_id`` as ``("hf", id)``, ``("dir", path)`` or ``("name", registry name)``.

    Raises:
        ConfigError: it looks like a path but the directory does not exist.
    """
    if name_or_id.startswith("hf:"):
        return "hf", name_or_id[3:]
    path = Path(name_or_id).expanduser()
    if path.is_dir():
        return "dir", str(path)
    if path.exists():
        raise ConfigError(f"{name_or_id}: is a file; pass the model directory that holds config.json")
    if "/" in name_or_id or name_or_id.startswith((".", "~")) or os.sep in name_or_id:
        raise ConfigError(
            f"{name_or_id}: no such directory; for a Hugging Face hub id write 'hf:{name_or_id}', "
            "or list registered names with vrag.encoders.list_encoders()"
        )
    return "name", name_or_id


def hub_file(model_id: str, filename: str) -> Path | None:
    """Path of ``filename`` in a hub repo (cache first, download unless offline); ``None`` if absent there.

    Raises:
        WeightsUnavailableError: the repo is neither cached nor reachable.
    """
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    cached = try_to_load_from_cache(model_id, filename, cache_dir=cache_dir())
    if isinstance(cached, str):
        return Path(cached)
    if cached is not None:  # cached "file does not exist" marker
        return None
    if not is_offline() and not hub_reachable():
        raise WeightsUnavailableError(model_id, cache_dir(), "no connection to the hub")
    try:
        return Path(hf_hub_download(model_id, filename, cache_dir=cache_dir(), local_files_only=is_offline()))
    except LocalEntryNotFoundError as err:
        reason = "offline mode (HF_HUB_OFFLINE=1)" if is_offline() else "no connection to the hub"
        raise WeightsUnavailableError(model_id, cache_dir(), reason) from err
    except RepositoryNotFoundError as err:
        raise WeightsUnavailableError(model_id, cache_dir(), "no such repository on the hub") from err
    except EntryNotFoundError:
        return None


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect to the hub endpoint (once per process), so an offline machine fails in
    seconds instead of sitting through the hub client's retries."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except OSError:
        return False
    return True


def read_json(source: str, filename: str, *, local: bool) -> dict[str, Any] | None:
    """``filename`` of a local model directory or hub repo as a dict, ``None`` when absent."""
    path = Path(source) / filename if local else hub_file(source, filename)
    if path is None or not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else None


def family_of(source: str, *, local: bool) -> str:
    """Which family module handles a checkpoint (from ``modules.json`` / ``config.json``).

    Raises:
        ConfigError: no config, or a model type vrag has no encoder family for.
    """
    if read_json(source, "modules.json", local=local) is not None:
        return "text"
    config = read_json(source, "config.json", local=local)
    if config is None:
        raise ConfigError(f"{source}: no config.json; pass a Hugging Face model directory or hub id")
    model_type = str(config.get("model_type", ""))
    if model_type not in FAMILIES:
        raise ConfigError(
            f"{source}: model_type {model_type!r} has no vrag encoder family; supported: "
            f"{', '.join(sorted(FAMILIES))} (transformers) and sentence-transformers directories. "
            "Siglip2 NaFlex checkpoints are not supported: use a fixed-resolution id such as "
            "google/siglip2-base-patch16-224"
        )
    return FAMILIES[model_type]


def load_pretrained(cls: Any, source: str, *, local: bool, runtime: Runtime) -> Any:
    """``cls.from_pretrained(source)`` with SDPA attention, no remote code, typed errors, no random layers.

    Raises:
        WeightsUnavailableError: hub weights missing here.
        ModelUnavailableError: the checkpoint lacks weights for part of the model.
    """
    if not local:
        hub_file(source, "config.json")  # fail fast, with the typed error, before transformers retries
    # load straight into the compute dtype (no fp32 copy first); accelerate places it when device_map="auto"
    kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": local or is_offline()}
    kwargs["dtype"] = runtime.dtype
    if not local:
        kwargs["cache_dir"] = cache_dir()
    if runtime.device_map is not None:
        kwargs["device_map"] = runtime.device_map
    try:
        model, info = _from_pretrained(cls, source, kwargs)
    except OSError as err:
        if local:
            raise ModelUnavailableError(
                f"{source}: could not load weights ({err}); check the directory"
            ) from err
        raise WeightsUnavailableError(source, cache_dir(), str(err).splitlines()[0]) from err
    missing = [k for k in info.get("missing_keys", ()) if not k.endswith(_BENIGN_MISSING)]
    if missing:
        shown = ", ".join(sorted(missing)[:4])
        raise ModelUnavailableError(
            f"{source}: the checkpoint has no weights for {len(missing)} parameters ({shown}, ...) of "
            f"{cls.__name__}; refusing to embed with random weights. Pass a full checkpoint of this model"
        )
    return model


def _from_pretrained(cls: Any, source: str, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if getattr(cls, "_supports_sdpa", False):
        kwargs = {"attn_implementation": "sdpa", **kwargs}
    with quiet_loading():
        return cls.from_pretrained(source, output_loading_info=True, **kwargs)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No per-tensor "Loading weights" bar from transformers while a model loads (restored after).

    Download bars stay: transformers' switch also silences huggingface_hub, so they are turned back on, and a
    user fetching gigabytes of weights sees them come.
    """
    from huggingface_hub.utils import are_progress_bars_disabled, enable_progress_bars
    from transformers.utils import logging as hf_logging

    was_on, hub_on = hf_logging.is_progress_bar_enabled(), not are_progress_bars_disabled()
    hf_logging.disable_progress_bar()
    if hub_on:
        enable_progress_bars()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


_RESAMPLE = {2: "bilinear", 3: "bicubic"}


def processor_params(
    source: str, *, local: bool, defaults: dict[str, Any], image_size: Any
) -> dict[str, Any]:
    """Spec fields from the checkpoint's (video) preprocessor config.

    Without one, the family's processor defaults apply at the model's own ``image_size``.
    """
    pre = read_json(source, "preprocessor_config.json", local=local)
    pre = pre or read_json(source, "video_preprocessor_config.json", local=local) or {}
    side = image_size if isinstance(image_size, int) else int(image_size[0])
    out = {**defaults, "input_size": (side, side)}
    if out.get("resize_shortest") is not None:
        out["resize_shortest"] = side
    size, crop = pre.get("size"), pre.get("crop_size")
    if isinstance(size, int) or (isinstance(size, dict) and "shortest_edge" in size):
        out["resize_shortest"] = int(size if isinstance(size, int) else size["shortest_edge"])
        out["input_size"] = (out["resize_shortest"],) * 2
    elif isinstance(size, dict) and "height" in size:
        out["resize_shortest"], out["input_size"] = None, (int(size["height"]), int(size["width"]))
    if out.get("resize_shortest") and pre.get("do_center_crop", True) and crop is not None:
        out["input_size"] = (
            (crop, crop) if isinstance(crop, int) else (int(crop["height"]), int(crop["width"]))
        )
    out["resample"] = _RESAMPLE.get(pre.get("resample", -1), out.get("resample", "bicubic"))
    if pre.get("do_rescale", True) is False:
        out["rescale"] = 1.0
    elif "rescale_factor" in pre:
        out["rescale"] = float(pre["rescale_factor"])
    if pre.get("do_normalize", True) is False:
        out["mean"] = out["std"] = None
    elif "image_mean" in pre:
        out["mean"], out["std"] = tuple(pre["image_mean"]), tuple(pre["image_std"])
    return out


def load_tokenizer(source: str, *, local: bool) -> Any:
    """The checkpoint's tokenizer (``AutoTokenizer``), with the same offline rules as the weights."""
    from transformers import AutoTokenizer

    try:
        extra = {} if local else {"cache_dir": cache_dir()}
        return AutoTokenizer.from_pretrained(
            source, local_files_only=local or is_offline(), trust_remote_code=False, **extra
        )
    except OSError as err:
        if local:
            raise ModelUnavailableError(
                f"{source}: no tokenizer files; save the tokenizer into the directory"
            ) from err
        raise WeightsUnavailableError(source, cache_dir(), str(err).splitlines()[0]) from err
