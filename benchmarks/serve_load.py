"""``vrag serve`` under load: 500 searches from 20 concurrent clients on loopback, then the same while an
index job runs in the server; against the naive way (a new ``vrag search`` process per query).

The corpus is the retrieval eval's generated lectures (their paraphrased queries are the searches). The
server runs as ``vrag serve`` in its own process; its peak RSS is read from ``/proc/PID/status`` (VmHWM).
Every request loop is bounded in count and time and talks to 127.0.0.1 only.

    python benchmarks/serve_load.py [--videos 10] [--searches 500] [--clients 20] [--naive 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
CONFIG = '[index]\nvisual_encoders = []\nocr = "off"\nworkers = 0\nchunker = "semantic"\n'


def vrag(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrag.cli", *args], capture_output=True, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    at = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {
        "p50_ms": at(0.50) * 1e3,
        "p95_ms": at(0.95) * 1e3,
        "p99_ms": at(0.99) * 1e3,
        "max_ms": ordered[-1] * 1e3,
    }


def load(
    url: str, queries: list[str], searches: int, clients: int, deadline_s: float = 600
) -> dict[str, Any]:
    """``searches`` GET /api/search spread over ``clients`` threads, each with its own connection."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def client(c: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            for i in range(c, searches, clients):
                if time.monotonic() > stop_at:
                    return
                started = time.perf_counter()
                try:
                    response = http.get("/api/search", params={"q": queries[i % len(queries)], "k": 5})
                    ok = response.status_code == 200 and len(response.json()) == 5
                    problem = None if ok else f"{response.status_code} {response.text[:100]}"
                except httpx.HTTPError as err:
                    problem = repr(err)
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if problem:
                        errors.append(problem)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - started
    return {"searches": len(latencies), "errors": len(errors), "first_error": errors[:1], "wall_s": wall,
            "per_s": len(latencies) / wall, **percentiles(latencies)}  # fmt: skip


def index_job(url: str, folder: Path) -> dict[str, Any]:
    """Start an index job and follow its events to the end (its wall time and report)."""
    started = time.perf_counter()
    job = httpx.post(f"{url}/api/index", json={"paths": [str(folder)]}, timeout=60).raise_for_status().json()
    report: dict[str, Any] = {}
    with httpx.stream("GET", job["events"], timeout=1200) as events:
        kind = None
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in ("done", "error"):
                report = {"kind": kind, **json.loads(line[6:])}
    return {"seconds": time.perf_counter() - started, "report": report}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=10, help="lectures in the index (1-10)")
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--naive", type=int, default=10, help="`vrag search` processes for the naive way")
    parser.add_argument("--workdir", help="reuse this folder (corpus + index)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from vrag.eval._lectures import make_lecture_corpus

    work = Path(args.workdir or tempfile.mkdtemp(prefix="vrag-serve-load-"))
    corpus = make_lecture_corpus(work / "corpus", videos=args.videos, size=(320, 180))
    extra = make_lecture_corpus(work / "extra" / "lectures", videos=2, seed=7, size=(320, 180))  # for the job
    queries = [q.text for q in corpus.queries]
    (work / "vrag.toml").write_text(CONFIG)
    index = work / "index"
    if not index.exists():
        done = vrag(
            "index", str(corpus.folder), "--index", str(index), "--config", str(work / "vrag.toml"), "-q"
        )
        if done.returncode:
            raise SystemExit(done.stderr)
    served = work / "served-index"  # a fresh copy each run: the index job adds to it
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(index, served)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["serve", "--index", str(served), "--port", str(port), "--root", str(work)]
    log = (work / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "vrag.cli", *command], cwd=work, stdout=log, stderr=log)
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() - t0 > 300:
                raise SystemExit(f"the server did not start; see {work / 'server.log'}")
            time.sleep(0.2)
        startup = time.perf_counter() - t0
        load(url, queries, 20, 4)  # warm up
        one = load(url, queries, 100, 1)  # one client: the service time of a search
        alone = load(url, queries, args.searches, args.clients)
        job: dict[str, Any] = {}
        runner = threading.Thread(target=lambda: job.update(index_job(url, extra.folder.parent)))
        runner.start()
        time.sleep(0.5)
        during = load(url, queries, args.searches, args.clients)
        runner.join()
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(60)
        log.close()

    naive: list[float] = []
    for i in range(args.naive):
        started = time.perf_counter()
        done = vrag(
            "search", queries[i % len(queries)], "--index", str(served), "-k", "5", "--json", cwd=work
        )
        naive.append(time.perf_counter() - started)
        if done.returncode:
            raise SystemExit(done.stderr)
    out = {
        "videos": args.videos, "segments_indexed_by_job": job.get("report", {}).get("segments"),
        "server_startup_s": startup, "one_client": one, "alone": alone, "during_index_job": during,
        "job_s": job.get("seconds"), "job_kind": job.get("report", {}).get("kind"),
        "server_peak_rss_mb": rss, "naive_process_per_search": {"runs": len(naive), **percentiles(naive)},
        "ratio_p50_naive_over_served": statistics.median(naive) * 1e3 / one["p50_ms"],
    }  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"server ({args.videos} lectures, {args.clients} clients, loopback), started in {startup:.1f} s")
    for name, row in (
        ("1 client", one),
        (f"{args.clients} clients", alone),
        ("… during an index job", during),
    ):
        print(
            f"  {name:22s} {row['searches']} searches, {row['errors']} errors, {row['per_s']:.1f}/s, "
            f"p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms, max {row['max_ms']:.0f} ms"
        )
    report = job.get("report", {})
    print(f"  index job: {report.get('kind')} in {job.get('seconds', 0):.1f} s; server peak RSS {rss:.0f} MB")
    p = out["naive_process_per_search"]
    print(f"naive (a `vrag search` process per query, {len(naive)} runs): p50 {p['p50_ms']:.0f} ms, "
          f"p95 {p['p95_ms']:.0f} ms")  # fmt: skip
    print(f"ratio p50 naive / served (1 client): {out['ratio_p50_naive_over_served']:.0f}x")


if __name__ == "__main__":
    main()
