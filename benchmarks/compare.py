"""Time ``parallax compare`` on the example story: cold (new process) and warm (library call).

Prints one JSON object (machine-readable) with:
- ``cold_s``: wall time of ``parallax compare examples/ --format json`` in a fresh process
  (imports, model loading and analysis), median of ``--cold-runs``;
- ``warm_s``: median wall time of ``Parallax.compare_paths`` after the models are loaded,
  with ``warm_p90_s`` and the per-stage breakdown of the median run;
- ``warm_cpu_s``: the CPU seconds of the warm call (all threads), a figure that does not depend
  on what else the machine runs; ``load_average_1m`` tells how busy the machine was;
- ``peer``: a naive peer measured in the same run on the same texts: all-pairs difflib
  sentence matching plus textacy's ``direct_quotations`` (the usual quick script a newsroom
  would write), so the figures have a reference point on this machine.

Usage: ``python benchmarks/compare.py [--warm-runs 20] [--cold-runs 3] [--out FILE]``
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def cold(runs: int) -> list[float]:
    exe = Path(sys.executable).with_name("parallax")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            [str(exe), "compare", str(EXAMPLES), "--format", "json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t0)
    return times


def warm(runs: int) -> tuple[list[float], list[float], dict[str, float]]:
    from parallax.pipeline import Parallax

    px = Parallax()
    px.warm_up()
    px.compare_paths([EXAMPLES])  # first call pays lazy initialisation
    times, cpu, stages = [], [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        report = px.compare_paths([EXAMPLES]).report
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        stages.append(report.timings)
    median_index = sorted(range(runs), key=lambda i: times[i])[runs // 2]
    return times, cpu, stages[median_index]


def peer(runs: int) -> list[float]:
    import textacy.extract

    from parallax.nlp import load_pipeline

    nlp = load_pipeline()
    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        docs = list(nlp.pipe(texts))
        sents = [[s.text for s in d.sents] for d in docs]
        for i in range(len(sents)):
            for j in range(i + 1, len(sents)):
                for a in sents[i]:
                    for b in sents[j]:
                        difflib.SequenceMatcher(None, a, b).ratio()
        for d in docs:
            with contextlib.suppress(Exception):  # textacy raises on odd quote-mark counts
                list(textacy.extract.triples.direct_quotations(d))
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cold_times = cold(args.cold_runs)
    load_before = os.getloadavg()[0]
    warm_times, warm_cpu, stage_times = warm(args.warm_runs)
    peer_times = peer(max(3, args.warm_runs // 4))
    result = {
        "benchmark": "compare-seed-story",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "articles": len(list(EXAMPLES.glob("*.txt"))),
        "cold_s": round(statistics.median(cold_times), 3),
        "warm_s": round(statistics.median(warm_times), 4),
        "warm_p90_s": round(sorted(warm_times)[int(0.9 * (len(warm_times) - 1))], 4),
        "warm_target_s": 1.0,
        "warm_under_target": statistics.median(warm_times) < 1.0,
        # CPU seconds of the warm call (all threads): what the work costs whatever else runs
        "warm_cpu_s": round(statistics.median(warm_cpu), 4),
        "load_average_1m": round(load_before, 2),
        "stages_s": stage_times,
        "peer": {
            "name": "difflib-all-pairs+textacy-quotes",
            "warm_s": round(statistics.median(peer_times), 4),
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
