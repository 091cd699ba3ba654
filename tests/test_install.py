"""A plain ``pip install`` of the distribution (no extras), in a fresh virtual environment, gives a working
``vrag index`` and ``vrag search``: every import the default path needs is a declared dependency, and the
optional ones (decord, RapidOCR, faster-whisper) stay optional.

Wheels come from a local wheelhouse (``$VRAG_WHEELHOUSE``, default ``~/.cache/vrag/wheelhouse``) so that a
run needs no network; the first run on a machine fills it from the package index (``pip download``), since
pip's own cache is not always kept. Torch comes with the pin the Makefile uses (DEVELOPERS.md says why).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_REQUIRES = "setuptools>=69"


def _torch_pin() -> str:
    found = re.search(r"^TORCH \?= (\S+)$", (REPO / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    return found.group(1) if found else "torch"


def _source(tmp: Path) -> Path:
    """The distribution's sources alone (an in-tree build would write build/ into the checkout)."""
    src = tmp / "src"
    shutil.copytree(REPO / "vrag", src / "vrag", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    return src


def _pip(python: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", *args]
    return subprocess.run([str(a) for a in command], capture_output=True, text=True, check=False)


def _install(python: Path, wheels: Path, *requirements: str | Path) -> None:
    """``pip install`` from the wheelhouse alone; fill it from the package index once if it lacks a wheel."""
    offline = ("install", "-q", "--no-compile", "--no-index", "--find-links", wheels)
    if _pip(python, *offline, *requirements).returncode == 0:
        return
    # with the torch pin, or the resolver fetches the newest (CUDA) torch for the package's own `torch>=`
    fetched = _pip(python, "download", "-q", "-d", wheels, *requirements, _torch_pin(), BUILD_REQUIRES)
    assert fetched.returncode == 0, f"could not fill the wheelhouse {wheels}:\n{fetched.stderr[-3000:]}"
    done = _pip(python, *offline, *requirements)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.integration
@pytest.mark.slow
def test_a_plain_install_indexes_and_searches(tmp_path: Path, demo_lectures: list[Path]) -> None:
    wheels = Path(os.environ.get("VRAG_WHEELHOUSE") or Path.home() / ".cache" / "vrag" / "wheelhouse")
    wheels.mkdir(parents=True, exist_ok=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _install(python, wheels, _torch_pin(), _source(tmp_path))  # torch pinned as the Makefile pins it

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    def vrag(*args: str | Path) -> str:
        done = subprocess.run(
            [str(venv / "bin" / "vrag"), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    where = subprocess.run(
        [str(python), "-c", "import vrag, importlib.util as u; print(vrag.__file__, u.find_spec('decord'))"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(venv)) and where.split()[-1] == "None"  # installed here; decord optional

    index = tmp_path / "idx"
    report = json.loads(vrag("index", *demo_lectures, "--encoder", "none", "--index", index, "--json"))
    assert len(report["indexed"]) == 2 and not report["failed"]
    (top,) = json.loads(vrag("search", "how does backpropagation send the error back", "-k", "1", "--index",
                             index, "--json"))  # fmt: skip
    assert Path(top["video"]).name == "neural_networks.mkv" and (top["start"], top["end"]) == (12.0, 24.0)
    # the URL plays the moment that answers: the narration cue about the error signal, inside the slide
    assert top["url"].endswith("neural_networks.mkv#t=20.3,23.6") and 0.0 <= top["score"] <= 1.0
    assert top["moment"]["text"] == "So the error signal travels from the output back to the input."


@pytest.fixture(scope="module")
def demo_lectures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two of the demo lectures (examples/make_demo_corpus.py), with their subtitles."""
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from make_demo_corpus import make_corpus
    finally:
        sys.path.remove(str(REPO / "examples"))
    videos = make_corpus(tmp_path_factory.mktemp("lectures"))
    return [v for v in videos if v.name in ("intro_to_ml.mp4", "neural_networks.mkv")]
