"""An index's video-level vectors: which aggregator each channel uses, building them, training ``lvmae``.

A trained checkpoint inside the index folder (``aggregators/<channel>``, written by ``vrag train aggregator``)
wins over the configured aggregator from then on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError

if TYPE_CHECKING:
    from vrag.aggregate._base import Aggregator
    from vrag.aggregate._store import BuildReport
    from vrag.aggregate._train import TrainReport
    from vrag.config import IndexConfig
    from vrag.store import Store

__all__ = ["VideoVectors"]


class VideoVectors:
    """The video-level vectors of one index.

    Args:
        store: the index's store.
        config: its configuration (``aggregator``, ``aggregator_options``).
        folder: the index folder (None for a server index: it keeps no files).
        preferred: the channel to train for by default (the text channel).
    """

    def __init__(self, store: Store, config: IndexConfig, folder: Path | None, preferred: str | None) -> None:
        self.store, self.config, self.folder, self.preferred = store, config, folder, preferred

    def build(self, *, rebuild: bool = False) -> list[BuildReport]:
        """Aggregate each video's segment vectors into its K video-level vectors (one set per video channel),
        for the videos that have none yet (all with ``rebuild``)."""
        from vrag.aggregate._store import build_video_vectors

        reports = []
        for channel in self.store.schema.video_channels:
            missing = [v.video_id for v in self.store.iter_videos() if rebuild or channel not in v.channels]
            if missing:
                reports.append(
                    build_video_vectors(self.store, self.aggregator(channel), channel=channel, videos=missing)
                )
        return reports

    def train(
        self, *, channel: str | None = None, k: int = 8, steps: int = 300, out_dir: str | Path | None = None,
        resume: bool = False, progress: bool | None = None,
    ) -> TrainReport:  # fmt: skip
        """Train the LV-MAE-style aggregator on the index's own segment vectors and rebuild every video's
        vectors with it (see ``VideoIndex.train_aggregator``)."""
        from vrag.aggregate._catalog import create_aggregator
        from vrag.aggregate._model import LVMAEConfig
        from vrag.aggregate._store import build_video_vectors, store_sequences
        from vrag.aggregate._train import train_aggregator

        channel = channel or self._default_channel()
        target = Path(out_dir) if out_dir is not None else self._trained_dir(channel)
        if target is None:
            raise ConfigError("a server index keeps no files: pass out_dir= for the aggregator checkpoint")
        sequences = [emb for _, emb, _ in store_sequences(self.store, channel)]
        if not sequences:
            raise ConfigError(f"channel {channel!r} has no segment vectors yet: index some videos first")
        schema = self.store.schema.to_record()
        show = sys.stderr.isatty() if progress is None else progress
        report = train_aggregator(
            sequences, out_dir=target, config=LVMAEConfig(k=k), steps=steps, schema=schema, channel=channel,
            resume=resume, progress=_progress(steps) if show else None,
        )  # fmt: skip
        build_video_vectors(
            self.store, create_aggregator("lvmae", path=target, expect_schema=schema), channel=channel
        )
        return report

    def aggregator(self, channel: str) -> Aggregator:
        """The aggregator for a channel: a trained checkpoint in the index folder, else the configured one."""
        from vrag.aggregate._catalog import create_aggregator

        trained = self._trained_dir(channel)
        schema = self.store.schema.to_record()
        if trained is not None and (trained / "aggregator.json").is_file():
            return create_aggregator("lvmae", path=trained, expect_schema=schema)
        name, options = self.config.aggregator or "kmeans", dict(self.config.aggregator_options)
        if name == "lvmae":
            path = options.get("path", trained)
            options["path"] = path.get(channel) if isinstance(path, Mapping) else path  # {channel: dir}
            options.setdefault("expect_schema", schema)
            if options["path"] is None or not (Path(options["path"]) / "aggregator.json").is_file():
                raise ConfigError(
                    f"aggregator 'lvmae' for channel {channel!r} has no trained checkpoint yet: run "
                    "`vrag train aggregator` (or index with aggregator='kmeans' first)"
                )
        return create_aggregator(name, **options)

    def _default_channel(self) -> str:
        channels = list(self.store.schema.video_channels)
        if not channels:
            raise ConfigError(
                "this index has no video-level channels (built with aggregator=None, or before video "
                "vectors existed): rebuild it with an aggregator to use them"
            )
        return self.preferred if self.preferred in channels else channels[0]

    def _trained_dir(self, channel: str) -> Path | None:
        return None if self.folder is None else self.folder / "aggregators" / channel


def _progress(steps: int) -> Callable[..., None]:
    from tqdm.auto import tqdm

    bar = tqdm(total=steps, desc="train aggregator", unit="step", leave=False)

    def update(step: int, *_: Any, **__: Any) -> None:
        bar.n = step
        bar.refresh()
        if step >= steps:
            bar.close()

    return update
