"""What exact change detection costs on a big video file: the sampled id vs full-content hashes.

``video_id`` samples 5 x 64 KiB (instant, misses a same-size edit elsewhere); the ingest adds a full-content
hash when a file's size or modification time changed (``vrag.media._fingerprint.content_hash``, xxHash3-128).
This times both on one file, against hashlib's BLAKE2b and SHA-256 (and BLAKE3 when installed), from the page
cache (warm) and after the file's pages were dropped (cold: ``posix_fadvise(DONTNEED)``, no root needed).
The file is made in the temp folder and deleted afterwards.

    .venv/bin/python benchmarks/hashing.py              # a 2 GB file
    .venv/bin/python benchmarks/hashing.py --gb 0.25    # smoke test
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHUNK = 1 << 20


def _hashlib(make: Callable[[], Any]) -> Callable[[Path], str]:
    def run(path: Path) -> str:
        digest = make()
        with open(path, "rb", buffering=0) as fh:
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while n := fh.readinto(buffer):
                digest.update(view[:n])
        return str(digest.hexdigest())

    return run


def _drop_cache(path: Path) -> None:
    with open(path, "rb") as fh:
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def main() -> None:
    from vrag.media._fingerprint import content_hash
    from vrag.media._probe import video_id

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gb", type=float, default=2.0, help="file size in GB (default 2)")
    args = parser.parse_args()
    methods: dict[str, Callable[[Path], Any]] = {
        "sampled id (5 x 64 KiB)": video_id,
        "xxh3-128 (vrag)": content_hash,
        "blake2b": _hashlib(lambda: hashlib.blake2b(digest_size=16)),
        "sha256": _hashlib(hashlib.sha256),
    }
    try:
        import blake3

        methods["blake3"] = _hashlib(blake3.blake3)
    except ImportError:
        pass
    size = int(args.gb * 1e9)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        with open(path, "wb") as fh:
            block = os.urandom(CHUNK)
            for _ in range(size // CHUNK):
                fh.write(block)
        rows = []
        for name, fn in methods.items():
            times = {}
            for state in ("warm", "cold"):
                if state == "cold":
                    _drop_cache(path)
                else:
                    fn(path)  # read it once into the page cache
                t = time.perf_counter()
                fn(path)
                times[state] = time.perf_counter() - t
            rows.append((name, times["warm"], times["cold"]))
    gb = size / 1e9
    print(f"{gb:.2f} GB file\n\n| method | warm s | warm GB/s | cold s | cold GB/s |\n|---|---|---|---|---|")
    for name, warm, cold in rows:
        print(f"| {name} | {warm:.3f} | {gb / warm:.2f} | {cold:.3f} | {gb / cold:.2f} |")


if __name__ == "__main__":
    main()
