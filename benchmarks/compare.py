"""Time ``parallax compare`` against spaCy alone, cold and warm, and on one very long article.

Prints one JSON object (machine-readable). Every figure is measured in this one run, so the
ratios hold even on a busy machine; each time comes with the CPU seconds it took (a figure that
depends much less on what else the machine runs) and ``load_average_1m`` says how busy it was.

1. ``cold``: ``parallax compare examples/ --format json`` in a new process, against a new
   process that only loads the spaCy pipeline through ``parallax.nlp`` (the floor any
   spaCy-based tool pays); median of ``--cold-runs`` each, run alternately; ``ratio`` = compare
   over spaCy.
2. ``warm``: ``Parallax.compare_paths(examples/)`` with the models loaded, against spaCy
   parsing the same cleaned texts (``nlp.pipe``); medians of ``--warm-runs``; per-stage
   breakdown of the median compare run.
3. ``long``: one article of about 200,000 characters (real BASIL articles from
   ``../shared/data/clustering`` joined) plus one short article, compared warm, as a ratio to
   the warm seed story; spaCy parsing the same two texts for reference.
4. ``peer``: all-pairs difflib sentence matching plus textacy's ``direct_quotations`` on the
   seed texts (the quick script a newsroom would write), warm.

Usage: ``python benchmarks/compare.py [--warm-runs 10] [--cold-runs 3] [--long-chars 200000] [--out FILE]``
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CLUSTERING = ROOT.parent / "shared" / "data" / "clustering" / "basil-2010-2015.jsonl"
SPACY_ONLY = "from parallax.nlp import load_pipeline; load_pipeline()"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_process(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one new process."""
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, _child_cpu() - c0


def _timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], list[float], list[Any]]:
    walls, cpus, outs = [], [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        outs.append(fn())
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus, outs


def _summary(walls: list[float], cpus: list[float]) -> dict[str, float]:
    return {"wall_s": round(statistics.median(walls), 4), "cpu_s": round(statistics.median(cpus), 4)}


def _ratio(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {"wall": round(a["wall_s"] / b["wall_s"], 2), "cpu": round(a["cpu_s"] / b["cpu_s"], 2)}


def cold(runs: int) -> dict[str, Any]:
    """Step 1: new processes, compare and spaCy-only alternately."""
    exe = str(Path(sys.executable).with_name("parallax"))
    compare_runs: list[tuple[float, float]] = []
    spacy_runs: list[tuple[float, float]] = []
    for _ in range(runs):
        compare_runs.append(_run_process([exe, "compare", str(EXAMPLES), "--format", "json"]))
        spacy_runs.append(_run_process([sys.executable, "-c", SPACY_ONLY]))
    compare = _summary([w for w, _ in compare_runs], [c for _, c in compare_runs])
    spacy_only = _summary([w for w, _ in spacy_runs], [c for _, c in spacy_runs])
    return {"compare": compare, "spacy_load": spacy_only, "ratio": _ratio(compare, spacy_only)}


def long_story(directory: Path, chars: int) -> Path:
    """Step 3's input: real articles joined to ``chars`` characters, plus one short article."""
    rows = [json.loads(line) for line in CLUSTERING.read_text(encoding="utf-8").splitlines() if line]
    parts: list[str] = []
    for row in rows[:-1]:
        parts.append(row["text"])
        if sum(len(p) + 2 for p in parts) >= chars:
            break
    long_text = "\n\n".join(parts)[:chars]
    long_text = long_text[: long_text.rfind("\n")].strip() if "\n" in long_text else long_text
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "long.txt").write_text(long_text, encoding="utf-8")
    (directory / "short.txt").write_text(rows[-1]["text"], encoding="utf-8")
    return directory


def warm(runs: int, long_dir: Path | None, long_runs: int) -> dict[str, Any]:
    """Steps 2 and 3: one process, models loaded once."""
    from parallax import clean, ingest
    from parallax.nlp import load_pipeline
    from parallax.pipeline import Parallax

    px = Parallax()
    px.warm_up()
    nlp = load_pipeline(px.settings.spacy_model)

    def cleaned(path: Path) -> list[str]:
        docs = ingest.read_paths([path], settings=px.settings).documents
        return [a.text for a in clean.clean_documents(docs)[0]]

    seed_texts = cleaned(EXAMPLES)
    px.compare_paths([EXAMPLES])  # the first call pays lazy initialisation
    walls, cpus, reports = _timed(lambda: px.compare_paths([EXAMPLES]).report, runs)
    median_index = sorted(range(runs), key=lambda i: walls[i])[runs // 2]
    compare = _summary(walls, cpus)
    s_walls, s_cpus, _ = _timed(lambda: list(nlp.pipe(seed_texts)), runs)
    spacy_parse = _summary(s_walls, s_cpus)
    out: dict[str, Any] = {
        "seed": {
            "articles": len(seed_texts),
            "chars": sum(len(t) for t in seed_texts),
            "compare": compare,
            "compare_p90_wall_s": round(sorted(walls)[int(0.9 * (runs - 1))], 4),
            "stages_s": reports[median_index].timings,
            "spacy_parse": spacy_parse,
            "ratio": _ratio(compare, spacy_parse),
        }
    }
    if long_dir is not None:
        long_texts = cleaned(long_dir)
        l_walls, l_cpus, l_reports = _timed(lambda: px.compare_paths([long_dir]).report, long_runs)
        long_compare = _summary(l_walls, l_cpus)
        p_walls, p_cpus, _ = _timed(lambda: list(nlp.pipe(long_texts)), long_runs)
        long_parse = _summary(p_walls, p_cpus)
        out["long"] = {
            "chars": [len(t) for t in long_texts],
            "compare": long_compare,
            "stages_s": l_reports[0].timings,
            "spacy_parse": long_parse,
            "ratio_to_warm_seed": _ratio(long_compare, compare),
            "ratio_to_spacy_parse": _ratio(long_compare, long_parse),
        }
    return out


def peer(runs: int) -> dict[str, Any]:
    """Step 4 (skipped where textacy, from the ``eval`` extra, is not installed)."""
    try:
        import textacy.extract
    except ImportError:
        return {"skipped": "textacy is not installed (pip install 'news-parallax[eval]')"}

    from parallax.nlp import load_pipeline

    nlp = load_pipeline()
    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]

    def once() -> None:
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

    walls, cpus, _ = _timed(once, runs)
    return _summary(walls, cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--long-chars", type=int, default=200_000, help="0 skips the long article")
    parser.add_argument("--long-runs", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    cold_figures = cold(args.cold_runs)
    with tempfile.TemporaryDirectory(prefix="parallax-bench-") as tmp:
        long_dir = None
        if args.long_chars and CLUSTERING.is_file():
            long_dir = long_story(Path(tmp) / "long", args.long_chars)
        warm_figures = warm(args.warm_runs, long_dir, args.long_runs)
    from parallax.settings import load_settings

    result = {
        "benchmark": "compare",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "embedder": load_settings().embedder,
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "cold": cold_figures,
        **warm_figures,
        "peer": {
            "name": "difflib-all-pairs+textacy-quotes",
            **peer(max(3, args.warm_runs // 3)),
        },
        "targets": {"cold_ratio": 1.6, "warm_ratio": 2.5, "long_to_warm_seed": 25.0},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
