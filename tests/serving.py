"""Shared by the service tests: a small indexed corpus of generated lectures, a real uvicorn server on a free
loopback port, and the system Chromium for the page tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.test_demo_corpus_chunking import load_demo_module

LECTURES = ("intro_to_ml.mp4", "video_search.webm")
INDEX_CONFIG: dict[str, Any] = {"visual_encoders": (), "ocr": "off", "workers": 0, "chunker": "semantic"}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@dataclass(frozen=True)
class Corpus:
    """Generated lectures (slide intervals known) and a closed index of them to copy."""

    videos: dict[str, Path]
    truth: dict[str, list[dict[str, Any]]]
    index: Path

    def copy(self, to: Path) -> Path:
        """A private copy of the index (tests change it; the Edge store allows one opener per folder)."""
        shutil.copytree(self.index, to)
        return to


@pytest.fixture(scope="session")
def lecture_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from vrag.config import IndexConfig
    from vrag.eval._lectures import write_lecture
    from vrag.index import VideoIndex

    demo = load_demo_module()
    folder = tmp_path_factory.mktemp("lectures")
    videos, truth = {}, {}
    for name in LECTURES:
        videos[name] = folder / "videos" / name
        videos[name].parent.mkdir(exist_ok=True)
        truth[name] = write_lecture(videos[name], demo.LECTURES[name], fps=10, size=(320, 180))
    with VideoIndex.open(folder / "index", IndexConfig(**INDEX_CONFIG)) as index:
        report = index.add(list(videos.values()), progress=False)
    assert sorted(report.indexed) == sorted(map(str, videos.values())), report
    return Corpus(videos, truth, folder / "index")


class Server:
    """A uvicorn server running an app in a thread of this process, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@contextmanager
def serving(index_dir: Path, **config: Any) -> Iterator[tuple[Server, Any]]:
    """Open the index at ``index_dir`` and serve it; yields the server and the open index."""
    from vrag.index import VideoIndex
    from vrag.serve import ServeConfig, create_app

    with VideoIndex.open(index_dir) as index, Server(create_app(index, ServeConfig(**config))) as server:
        yield server, index


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver when missing (as root); skip with the reason if that
    cannot be done."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.geteuid() != 0:
        pytest.skip(
            f"{CHROMIUM} / {CHROMEDRIVER} missing and not root: apt-get install chromium chromium-driver"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"])
    for step in steps:
        try:
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as err:
            pytest.skip(f"cannot install chromium ({' '.join(step)}: {err})")
        if done.returncode != 0:
            pytest.skip(f"cannot install chromium ({' '.join(step)}: {done.stderr.strip()[-300:]})")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("apt-get installed chromium but /usr/bin/chromium or chromedriver is still missing")
