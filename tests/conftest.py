"""Test-wide settings: tests never touch the network (the hub client reads these before any download)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# a developer's own ~/.config/vrag/vrag.toml must not change what the tests see
os.environ["XDG_CONFIG_HOME"] = os.path.join(os.path.dirname(__file__), "_no_user_config")
