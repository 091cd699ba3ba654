"""Test-wide settings: tests never touch the network (the hub client reads these before any download)."""

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# a developer's own ~/.config/vrag/vrag.toml must not change what the tests see
os.environ["XDG_CONFIG_HOME"] = os.path.join(os.path.dirname(__file__), "_no_user_config")


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[Path]]:
    """The demo lectures (examples/make_demo_corpus.py) indexed once with ``vrag index`` (text channels, no
    OCR): the index folder, the generator's ground truth and the videos. Tests only read it."""
    from tests.test_demo_corpus_chunking import load_demo_module
    from vrag.cli import main as cli

    root = tmp_path_factory.mktemp("demo-index")
    videos = load_demo_module().make_corpus(root / "corpus")
    truth = json.loads((root / "corpus" / "ground_truth.json").read_text(encoding="utf-8"))
    config = root / "vrag.toml"
    config.write_text('[index]\nvisual_encoders = []\nocr = "off"\nworkers = 0\n')
    args = ["index", *map(str, videos), "--index", str(root / "idx"), "--config", str(config), "-q"]
    if cli(args) != 0:
        raise RuntimeError("the demo lectures could not be indexed")
    return root / "idx", truth, videos
