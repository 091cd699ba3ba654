"""Test-wide settings: tests never touch the network (the hub client reads these before any download)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
