"""Corpus-mode benchmark: ingest + dedup + clustering throughput and peak memory as the corpus grows.

Usage::

    python benchmarks/corpus.py [--sizes 10000,100000,1000000] [--engine processes|local|dask]
                                [--out FILE.json] [--peer-max 10000] [--workdir DIR] [--every N]
                                [--cache DIR] [--compare-src DIR] [--no-assign]

The sets are built from the shared clustering corpora (BASIL + ECB+, 952 real articles) with varied
copies so that the work is real: the real articles come first, then variants of them --
*syndicated copies* (a few words changed, a new headline: the near-duplicate index must catch
them) and *rewrites* (paragraphs reordered, about a third of the words replaced, a paragraph from
another article appended, the date shifted by up to a month: new documents for the clusterer).

For each size it prints one JSON line with:

* ``ingest_aps``    -- end-to-end ``parallax.corpus.ingest`` articles/s (read JSONL, clean, hash,
  MinHash, features, dedup, clustering, SQLite writes), on a fresh store, with the engine of
  ``parallax ingest`` (``processes``: one worker process per core) or, with ``--engine local``,
  all in one process;
* ``curve``         -- points every ``--every`` articles (default a tenth of the size) of the same
  run: articles/s overall and over the last stretch, peak RSS so far, checkpoints and the seconds
  spent serialising them over the stretch: how cost grows within a run;
* ``marginal_aps``  -- the articles/s of each stretch (the curve's ``aps_stretch``), and
  ``last_vs_first_stretch`` -- the last stretch's rate over the first's (every stretch recorded is
  full: at least ``--every`` articles); 1.0 is a flat marginal cost, below 1 a cost growing with
  the store. ``last_vs_second_stretch`` leaves out the first stretch (worker start-up, warm caches);
  after the rows, each larger size's ``aps_vs_smallest`` (its rate over the smallest size's) and
  ``last_stretch_vs_smallest_aps`` (its last stretch over the smallest size's rate: with
  ``--sizes 100000,1000000``, the 1M marginal rate against the 100k rate);
* with ``--compare-src DIR`` (e.g. the ``src`` of another commit, from ``git archive``), the
  end-to-end ingest is also run on that code, right before this one on the same set, and the row
  has its figures as ``compare_*`` plus ``ingest_aps_vs_compare`` and the same for the stretch
  ratio: on a machine shared with other work, only such same-run ratios mean something;
* ``assign_aps``    -- dedup + clustering alone (signatures and features precomputed), articles/s;
* ``peak_rss_mb``   -- peak resident memory of the process doing the end-to-end ingest (the driver);
  ``peak_helpers_rss_mb`` -- the most its worker processes and fork server held together, sampled
  after every batch; ``peak_total_rss_mb`` -- the two added (an upper bound of the run's peak:
  the two peaks need not coincide);
* the peer: batch TF-IDF (sublinear) + agglomerative clustering (cosine, average linkage), the
  approach of the clustering peer figure, at sizes up to ``--peer-max`` (it needs O(n^2) memory).

With ``--engine dask`` each row also has, for local Dask clusters of 1 and 2 single-threaded
workers started in the same run:

* ``parallel_aps_local/dask1/dask2`` -- the parallel stages alone (clean, hash, MinHash,
  features: :func:`parallax.corpus.prepare_items`) over the first ``PARALLEL_SAMPLE`` articles,
  batches pre-read, workers warmed; ``parallel_speedup_2v1`` is 2 workers over 1;
* ``dask1_ingest_aps``, ``dask2_ingest_aps`` -- end-to-end ingest with ``engine=`` (cluster
  start-up excluded, reported as ``dask*_startup_seconds``), ``ingest_speedup_2v1`` and
  ``ingest_speedup_2_vs_local`` (against ``ingest_aps``, the single-process engine);
* ``dask_same_story_count`` -- the three runs found the same number of stories;
* ``load_average`` -- the machine's 1-minute load when the row started (other work skews speedups).

Each size runs in its own child process so that peak RSS is that size's own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PARALLAX_SHARED", ROOT.parent / "shared")).resolve() / "data" / "clustering"
SOURCES = ("basil-2010-2015.jsonl", "ecbplus-topics-1-35.jsonl")
_WORD = re.compile(r"\S+")


def load_bases(shared: Path = SHARED) -> list[dict[str, Any]]:
    """The real articles of the shared clustering corpora (fails with a clear message when absent)."""
    out: list[dict[str, Any]] = []
    for name in SOURCES:
        path = shared / name
        if not path.exists():
            raise SystemExit(f"shared data not available: {path} (set PARALLAX_SHARED)")
        with path.open(encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    return out


def _shift(published: str | None, days: int) -> str | None:
    import datetime as dt

    if not published:
        return None
    try:
        return (dt.date.fromisoformat(published[:10]) + dt.timedelta(days=days)).isoformat()
    except ValueError:
        return published


def synthetic_records(n: int, *, seed: int = 0, copy_share: float = 0.3) -> Iterator[dict[str, Any]]:
    """``n`` article records: the real ones first, then syndicated copies and rewrites of them.

    Deterministic for a given ``seed``. Every record has a unique id and unique content.
    """
    rng = random.Random(seed)
    bases = load_bases()
    vocab = sorted({w for b in bases[:200] for w in _WORD.findall(b["text"]) if w.isalpha()})
    outlets = ["wire", "daily", "post", "herald", "times", "tribune", "courier", "gazette"]
    for i in range(n):
        base = bases[i % len(bases)]
        if i < len(bases):
            yield dict(base, outlet=base.get("outlet") or "unknown")
            continue
        words = _WORD.findall(base["text"])
        outlet = f"{rng.choice(outlets)}{i % 97}"
        if rng.random() < copy_share:
            # syndicated copy: a few words changed, a new headline, the same day
            for _ in range(3):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            text = " ".join(words)
            title = f"{base.get('title') or 'Report'} ({outlet})"
            published = base.get("published")
        else:
            # rewrite: paragraphs reordered, ~1/3 of the words replaced, a foreign paragraph, date shifted
            paras = [p for p in base["text"].split("\n") if p.strip()]
            rng.shuffle(paras)
            other = bases[rng.randrange(len(bases))]["text"].split("\n")[0]
            words = _WORD.findall("\n".join([*paras, other]))
            for j in range(len(words)):
                if rng.random() < 0.33:
                    words[j] = rng.choice(vocab)
            text = " ".join(words) + f" Reported by desk {i}."
            title = " ".join(rng.sample(words, min(8, len(words))))
            published = _shift(base.get("published"), rng.randint(-30, 30))
        yield {
            "id": f"{base['id']}-v{i}",
            "outlet": outlet,
            "published": published,
            "title": title,
            "text": text,
        }


def write_jsonl(path: Path, n: int, *, seed: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for rec in synthetic_records(n, seed=seed):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def _helpers_rss_mb() -> float:
    """Current resident memory of the other processes of the run (worker processes, the fork
    server), found as this process's descendants and their siblings' descendants in ``/proc``."""
    me = os.getpid()
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, list(children.get(me, []))
    while todo:
        pid = todo.pop()
        total += _rss_mb(pid)
        todo += children.get(pid, [])
    return total


def _child_ingest(data: Path, db: Path, engine_name: str, every: int) -> dict[str, Any]:
    """End-to-end ingest in this (child) process, on ``engine_name`` (local: no engine at all).

    Every ``every`` articles a point of the growth curve is taken: articles so far, articles/s
    over the last stretch and overall, peak RSS so far.
    """
    from parallax.corpus import IngestProgress, ingest
    from parallax.engine import make_engine
    from parallax.settings import Settings
    from parallax.store import Store

    curve: list[dict[str, Any]] = []
    last = {"seen": 0, "t": 0.0, "checkpoint_seconds": 0.0, "checkpoints": 0}
    helpers = {"peak": 0.0}

    def progress(p: IngestProgress) -> None:
        helpers["peak"] = max(helpers["peak"], _helpers_rss_mb())
        if p.seen - last["seen"] >= every:
            curve.append(
                {
                    "seen": p.seen,
                    "aps_overall": round(p.seen / p.elapsed, 1),
                    "aps_stretch": round((p.seen - last["seen"]) / (p.elapsed - last["t"]), 1),
                    "peak_rss_mb": round(_peak_rss_mb(), 1),
                    "peak_helpers_rss_mb": round(helpers["peak"], 1),
                    "load_average": round(os.getloadavg()[0], 1),
                    # the code compared against (--compare-src) may not report checkpoints
                    "checkpoints": getattr(p, "checkpoints", 0) - last["checkpoints"],
                    "checkpoint_seconds": round(
                        getattr(p, "checkpoint_seconds", 0.0) - last["checkpoint_seconds"], 3
                    ),
                }
            )
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
            last.update(
                seen=p.seen,
                t=p.elapsed,
                checkpoints=getattr(p, "checkpoints", 0),
                checkpoint_seconds=getattr(p, "checkpoint_seconds", 0.0),
            )

    engine = None if engine_name == "local" else make_engine(engine_name)
    t0 = time.perf_counter()
    with Store(db) as store:
        try:
            summary = ingest(
                [data], store=store, settings=Settings(), batch_size=1000, engine=engine, progress=progress
            )
        finally:
            if engine is not None:
                engine.close()
        stories = store.execute("SELECT count(*) FROM stories")[0][0]
    seconds = time.perf_counter() - t0
    return {
        "ingest_seconds": round(seconds, 2),
        "ingest_aps": round(summary.added / seconds, 1),
        "added": summary.added,
        "copies": summary.copies,
        "stories": stories,
        "merges": summary.merges,
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        # worker processes and fork server, sampled after every batch (their peaks between samples are missed)
        "peak_helpers_rss_mb": round(helpers["peak"], 1),
        "peak_total_rss_mb": round(_peak_rss_mb() + helpers["peak"], 1),
        "workers": 1 if engine is None else engine.workers,
        "checkpoints": getattr(summary, "checkpoints", None),
        "checkpoint_seconds": round(getattr(summary, "checkpoint_seconds", 0.0), 3),
        "checkpoint_mb": round(getattr(summary, "checkpoint_bytes", 0) / 2**20, 1),
        **stretch_figures(curve),
        "curve": curve,
    }


def stretch_figures(curve: list[dict[str, Any]]) -> dict[str, Any]:
    """The marginal rate of each stretch of the curve and the ratios of the last to the first
    (and to the second, leaving out start-up); ``None`` where there are too few stretches."""
    rates = [point["aps_stretch"] for point in curve]

    def ratio(i: int) -> float | None:
        return round(rates[-1] / rates[i], 3) if len(rates) > i + 1 and rates[i] else None

    return {"marginal_aps": rates, "last_vs_first_stretch": ratio(0), "last_vs_second_stretch": ratio(1)}


def _child_assign(data: Path, n: int) -> dict[str, Any]:
    """Dedup + clustering alone over precomputed signatures and features (bounded sample for memory)."""
    from parallax.corpus import CorpusIndex, featurize_batch
    from parallax.records import Article

    sample = min(n, 100_000)
    arts = []
    with data.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            arts.append(
                Article(
                    id=r["id"],
                    source_path="b",
                    text=r["text"],
                    outlet=r["outlet"] or "x",
                    title=r["title"],
                    published=r["published"],
                )
            )
            if len(arts) >= sample:
                break
    t0 = time.perf_counter()
    prepared = featurize_batch(arts)
    featurize = time.perf_counter() - t0
    index = CorpusIndex.fresh()
    t0 = time.perf_counter()
    for p in prepared:
        index.assign(p, lambda _c: "")
    assign = time.perf_counter() - t0
    return {
        "assign_sample": sample,
        "featurize_aps": round(sample / featurize, 1),
        "assign_aps": round(sample / assign, 1),
    }


def _child_peer(data: Path, n: int) -> dict[str, Any]:
    """Batch TF-IDF + agglomerative (cosine, average linkage, threshold 0.8): the clustering peer."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    with data.open(encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for _, line in zip(range(n), fh, strict=False)]
    t0 = time.perf_counter()
    x = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)
    # cosine distances from the sparse, L2-normalised rows: n x n memory instead of n x vocabulary
    distances = 1.0 - (x @ x.T).toarray()
    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=0.8
    ).fit_predict(distances)
    seconds = time.perf_counter() - t0
    return {
        "peer_aps": round(n / seconds, 1),
        "peer_stories": int(labels.max()) + 1,
        "peer_peak_rss_mb": round(_peak_rss_mb(), 1),
    }


# --- the dask engine (--engine dask) ---------------------------------------------------------------
#: Articles of the parallel-stage measurement (held in memory, so bounded).
PARALLEL_SAMPLE = 20_000
#: Batch size of the engine runs (the CLI default).
ENGINE_BATCH = 500


def _child_engine_ingest(data: Path, db: Path, workers: int) -> dict[str, Any]:
    """End-to-end ingest through a fresh local Dask cluster of ``workers`` (start-up not timed)."""
    from parallax.corpus import ingest
    from parallax.engine.dask_engine import DaskEngine
    from parallax.settings import Settings
    from parallax.store import Store

    t0 = time.perf_counter()
    with DaskEngine(workers=workers) as engine:
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        with Store(db) as store:
            summary = ingest([data], store=store, settings=Settings(), batch_size=ENGINE_BATCH, engine=engine)
            stories = store.execute("SELECT count(*) FROM stories")[0][0]
        seconds = time.perf_counter() - t0
    return {
        f"dask{workers}_ingest_aps": round(summary.added / seconds, 1),
        f"dask{workers}_stories": stories,
        f"dask{workers}_startup_seconds": round(startup, 1),
    }


def _timed_prepare(items: list[Any], *, settings: Any) -> tuple[int, float]:
    """:func:`parallax.corpus.prepare_items` on one batch; (articles, CPU seconds of this process)."""
    from parallax.corpus import prepare_items

    t0 = time.process_time()
    out = prepare_items(items, settings=settings)
    return len(out), time.process_time() - t0


def _child_parallel(data: Path, n: int, workers: int) -> dict[str, Any]:
    """Throughput of the parallel stages alone (clean, hash, MinHash, features) on an engine.

    ``workers == 0`` is the in-process engine. Batches are read into memory first, one batch is run
    untimed to warm every worker, then the timer covers submitting every batch and taking every
    result back in order (serialisation included: it is part of the cost of distributing).
    ``parallel_cpu_share_*`` is the CPU time the tasks got per wall second: on a machine shared
    with other work, 2 workers can only be faster than 1 if they get more than one core's worth.
    """
    import functools
    import itertools

    from parallax.engine import Engine, LocalEngine
    from parallax.ingest import iter_documents
    from parallax.settings import Settings

    settings = Settings()
    stream = iter_documents([data], settings=settings)
    items = list(itertools.islice(stream, min(n, PARALLEL_SAMPLE)))
    batches = [items[i : i + ENGINE_BATCH] for i in range(0, len(items), ENGINE_BATCH)]
    fn = functools.partial(_timed_prepare, settings=settings)
    label = "local" if workers == 0 else f"dask{workers}"
    engine: Engine
    if workers == 0:
        engine = LocalEngine()
    else:
        from parallax.engine.dask_engine import DaskEngine

        engine = DaskEngine(workers=workers)
    with engine:
        for _ in engine.map_batches(fn, batches[:1] * max(1, workers)):
            pass
        t0 = time.perf_counter()
        cpu = sum(c for _, c in engine.map_batches(fn, batches))
        seconds = time.perf_counter() - t0
    return {
        f"parallel_aps_{label}": round(len(items) / seconds, 1),
        f"parallel_cpu_share_{label}": round(cpu / seconds, 2),  # cores' worth the tasks got
        "parallel_sample": len(items),
    }


def _engine_row(data: Path, n: int, tmp: Path, local: dict[str, Any]) -> dict[str, Any]:
    """The ``--engine dask`` figures of one size: 1 and 2 workers against ``local``, the row so far."""
    row: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 1)}
    # the parallel stages: 1 worker, 2 workers, in-process, 1 worker again (load drifts during a run)
    first = _run_child("parallel", data, n, tmp / "unused.db", workers=1)
    for workers in (2, 0, 1):
        row |= _run_child("parallel", data, n, tmp / "unused.db", workers=workers)
        print(json.dumps(row), file=sys.stderr, flush=True)
    for workers in (1, 2):
        row |= _run_child("engine-ingest", data, n, tmp / f"store-{n}-dask{workers}.db", workers=workers)
        print(json.dumps(row), file=sys.stderr, flush=True)
    row["parallel_aps_dask1"] = round((row["parallel_aps_dask1"] + first["parallel_aps_dask1"]) / 2, 1)
    row["parallel_speedup_2v1"] = round(row["parallel_aps_dask2"] / row["parallel_aps_dask1"], 2)
    row["ingest_speedup_2v1"] = round(row["dask2_ingest_aps"] / row["dask1_ingest_aps"], 2)
    row["ingest_speedup_2_vs_local"] = round(row["dask2_ingest_aps"] / local["ingest_aps"], 2)
    row["load_average_end"] = round(os.getloadavg()[0], 1)
    row["dask_same_story_count"] = row["dask1_stories"] == row["dask2_stories"] == local["stories"]
    return row


def _run_child(
    kind: str,
    data: Path,
    n: int,
    db: Path,
    *,
    workers: int = 0,
    engine: str = "processes",
    every: int = 0,
    src: Path | None = None,
) -> dict[str, Any]:
    """Run one measurement in a child process; ``src``: import ``parallax`` from there instead."""
    cmd = [sys.executable, __file__, "--child", kind, "--data", str(data), "--n", str(n), "--db", str(db)]
    cmd += ["--workers", str(workers), "--ingest-engine", engine, "--every", str(every or max(1, n // 10))]
    env = None
    if src is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _compare_ratios(row: dict[str, Any]) -> dict[str, Any]:
    """This code's figures over those of ``--compare-src``, measured back to back in one run."""
    out: dict[str, Any] = {"same_stories_as_compare": row["stories"] == row["compare_stories"]}
    for key in ("ingest_aps", "last_vs_first_stretch", "last_vs_second_stretch"):
        mine, other = row.get(key), row.get(f"compare_{key}")
        out[f"{key}_vs_compare"] = round(mine / other, 3) if mine and other else None
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--engine",
        default="processes",
        choices=["processes", "local", "dask"],
        help="engine of the end-to-end ingest: worker processes (the CLI default), this process only, "
        "or processes plus the Dask comparison rows",
    )
    parser.add_argument(
        "--every", type=int, default=0, help="articles between curve points (default: size/10)"
    )
    parser.add_argument("--ingest-engine", default="processes", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--peer-max", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep the generated sets in this directory and reuse them"
    )
    parser.add_argument(
        "--compare-src",
        type=Path,
        default=None,
        help="also run the end-to-end ingest with the parallax package under this directory "
        "(e.g. another commit's src/ from `git archive`), right before this code's, and report ratios",
    )
    parser.add_argument("--no-assign", action="store_true", help="skip the dedup + clustering alone figure")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        fn = {
            "ingest": lambda: _child_ingest(args.data, args.db, args.ingest_engine, args.every),
            "assign": lambda: _child_assign(args.data, args.n),
            "peer": lambda: _child_peer(args.data, args.n),
            "parallel": lambda: _child_parallel(args.data, args.n, args.workers),
            "engine-ingest": lambda: _child_engine_ingest(args.data, args.db, args.workers),
        }[args.child]
        print(json.dumps(fn()))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = []
    for folder in (args.workdir, args.cache):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in sizes:
            data = (args.cache or Path(tmp)) / f"corpus-{n}-seed0.jsonl"
            t0 = time.perf_counter()
            if not data.exists():  # the sets are deterministic: a cached one is the same set
                write_jsonl(data.with_suffix(".part"), n)
                data.with_suffix(".part").rename(data)
            row: dict[str, Any] = {
                "size": n,
                "engine": args.engine,
                "build_seconds": round(time.perf_counter() - t0, 1),
                "input_mb": round(data.stat().st_size / 2**20, 1),
            }
            ingest_engine = "local" if args.engine == "local" else "processes"
            if args.compare_src is not None:
                other = _run_child(
                    "ingest",
                    data,
                    n,
                    Path(tmp) / f"store-{n}-compare.db",
                    engine=ingest_engine,
                    every=args.every,
                    src=args.compare_src.resolve(),
                )
                row |= {f"compare_{k}": v for k, v in other.items()}
                print(json.dumps(row), file=sys.stderr, flush=True)
            row |= _run_child(
                "ingest", data, n, Path(tmp) / f"store-{n}.db", engine=ingest_engine, every=args.every
            )
            if args.compare_src is not None:
                row |= _compare_ratios(row)
            if not args.no_assign:
                row |= _run_child("assign", data, n, Path(tmp) / "unused.db")
            if n <= args.peer_max:
                row |= _run_child("peer", data, n, Path(tmp) / "unused.db")
            if args.engine == "dask":
                row |= _engine_row(data, n, Path(tmp), row)
            print(json.dumps(row), flush=True)
            results.append(row)
            if args.cache is None:
                data.unlink()
            for f in Path(tmp).glob(f"store-{n}*.db*"):
                f.unlink()
    if len(results) > 1:
        # cost growth: how time per article changes with size (1.0 = linear total cost)
        base = results[0]
        for r in results[1:]:
            growth = (base["ingest_aps"] / r["ingest_aps"]) if r["ingest_aps"] else float("inf")
            print(
                json.dumps(
                    {
                        "size": r["size"],
                        "per_article_cost_vs_smallest": round(growth, 2),
                        "aps_vs_smallest": round(r["ingest_aps"] / base["ingest_aps"], 3),
                        # the flat-cost target: this size's last stretch against the smallest's overall rate
                        "last_stretch_vs_smallest_aps": round(r["marginal_aps"][-1] / base["ingest_aps"], 3)
                        if r.get("marginal_aps") and base["ingest_aps"]
                        else None,
                        "rss_growth": round(r["peak_rss_mb"] / base["peak_rss_mb"], 2),
                    }
                )
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
