"""Latency of ``parallax serve`` under concurrent clients on loopback.

Starts ``parallax serve`` in a subprocess over a store (by default one built from ``examples/`` in a
temporary directory), warms the story's report, then sends ``--requests`` requests per endpoint
from ``--clients`` concurrent keep-alive clients and prints machine-readable figures (p50, p99, mean,
requests/s) for:

* ``story_page``  - ``GET /stories/{id}`` (the full HTML report page);
* ``report_api``  - ``GET /api/stories/{id}/report`` (the StoryReport JSON);
* ``health``      - ``GET /api/health``, the peer: the same server's floor for a trivial request.

Usage: ``python benchmarks/serve.py [--db FILE] [--clients 8] [--requests 400]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_store(db: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "parallax.cli", "ingest", str(ROOT / "examples"), "--db", str(db)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure(base: str, path: str, *, clients: int, requests: int) -> dict[str, float]:
    """Send ``requests`` GETs of ``path`` from ``clients`` threads; latency figures in milliseconds."""
    per_client = max(1, requests // clients)

    def run_client(_: int) -> list[float]:
        out = []
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(per_client):
                t0 = time.perf_counter()
                response = client.get(path)
                out.append(time.perf_counter() - t0)
                response.raise_for_status()
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [x for chunk in pool.map(run_client, range(clients)) for x in chunk]
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "rps": round(len(latencies) / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="an existing store (default: the examples in a temp store)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if args.db is None:
            build_store(db)
        port = free_port()
        env = {**os.environ, "PARALLAX_API_TOKEN": ""}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "parallax.cli",
                "serve",
                "--db",
                str(db),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"server did not start: {server.stderr.read().decode() if server.stderr else ''}"
                    )
                time.sleep(0.2)
            story = httpx.get(base + "/api/stories", params={"sort": "size", "limit": 1}).json()["stories"][
                0
            ]["id"]
            t0 = time.perf_counter()
            httpx.get(f"{base}/api/stories/{story}/report", timeout=600).raise_for_status()
            first_report = time.perf_counter() - t0
            httpx.get(f"{base}/stories/{story}", timeout=60).raise_for_status()
            results = {
                name: measure(base, path, clients=args.clients, requests=args.requests)
                for name, path in (
                    ("health", "/api/health"),
                    ("report_api", f"/api/stories/{story}/report"),
                    ("story_page", f"/stories/{story}"),
                )
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        json.dumps(
            {
                "benchmark": "serve",
                "clients": args.clients,
                "cpus": os.cpu_count(),
                "first_report_s": round(first_report, 2),
                "endpoints": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
