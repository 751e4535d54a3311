"""Where the driver's time goes as the corpus grows: CPU time per article of each stage, per stretch.

Usage::

    python benchmarks/corpus_driver.py --size 100000 [--every 20000] [--cache DIR] [--out FILE.json]
                                       [--set KEY=VALUE ...]

End-to-end throughput on a shared machine is noisy, and the driver shares two cores with the
workers. This replays the synthetic set of ``benchmarks/corpus.py`` through the real ingest driver
(:func:`parallax.corpus.ingest`: duplicate checks, near-duplicate index, story clusterer, SQLite
writes, checkpoints) with the per-document half (clean, MinHash, features) computed beforehand
and cached in ``--cache`` (the first run prepares it on one worker process per core), and
measures the driver's **CPU time** (``time.thread_time`` of the ingest thread; ``process`` adds
the store's background WAL checkpoints), which other work on the machine barely moves, by stage:

* ``cluster_add`` (of which ``candidates``, ``score``, ``update``, ``vector``), ``cluster_copy``;
* ``dedup_insert``; ``store_write`` (the batch transaction); ``checkpoint`` (the index state);
* ``gc`` (the cyclic garbage collector, from ``gc.callbacks``; ``gc0``..``gc2`` by generation);
  ``driver`` (everything);
* ``dup_check`` and ``id_check`` (the store look-ups of content hashes and ids before assignment);
* ``sql:<statement>``: CPU time in each kind of SQL statement of the writer connection (``sql:commit``
  includes appending the batch's pages to the WAL and SQLite's automatic WAL checkpoints), and
  ``wal_kb``/``read_kb``: kilobytes the process wrote and read per article (``/proc/self/io``).

One JSON line per stretch of ``--every`` articles (microseconds per article, and the clusterer's
open stories and posting entries at its end), then a summary with ``last_vs_first_stretch`` of
the driver's CPU rate and ``synthetic_quality``: BCubed of the stored stories against the story
of the real article each synthetic one was made from. ``--set undated_horizon=none`` (or any other :class:`StoryClusterer`
tunable) runs the clusterer with another setting, so two settings can be compared on one set.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import itertools
import json
import os
import pickle
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import load_bases, write_jsonl  # the synthetic set of benchmarks/corpus.py

BATCH = 1000
CHUNK = 10_000  # prepared articles per cache file


def prepare(size: int, cache: Path) -> list[Path]:
    """Prepared batches of the synthetic set of ``size`` articles, cached as pickles in ``cache``."""
    from parallax.corpus import prepare_items
    from parallax.engine import make_engine
    from parallax.ingest import iter_documents
    from parallax.settings import Settings

    folder = cache / f"prepared-{size}-seed0"
    done = folder / "done"
    if done.exists():
        return sorted(folder.glob("chunk-*.pkl"))
    folder.mkdir(parents=True, exist_ok=True)
    data = cache / f"corpus-{size}-seed0.jsonl"
    if not data.exists():
        write_jsonl(data.with_suffix(".part"), size)
        data.with_suffix(".part").rename(data)
    settings = Settings()
    stream = iter_documents([data], settings=settings)
    batches = iter(lambda: list(itertools.islice(stream, BATCH)), [])
    buffer: list[Any] = []
    k = 0
    engine = make_engine("processes")
    try:
        for out in engine.map_batches(functools.partial(prepare_items, settings=settings), batches):
            buffer += out
            if len(buffer) >= CHUNK:
                (folder / f"chunk-{k:04d}.pkl").write_bytes(pickle.dumps(buffer, protocol=5))
                k, buffer = k + 1, []
    finally:
        engine.close()
    if buffer:
        (folder / f"chunk-{k:04d}.pkl").write_bytes(pickle.dumps(buffer, protocol=5))
    done.touch()
    return sorted(folder.glob("chunk-*.pkl"))


class CachedEngine:
    """An engine that yields the cached prepared batches instead of computing them."""

    name = "cached"
    workers = 1

    def __init__(self, chunks: list[Path]) -> None:
        self.chunks = chunks

    def map_batches(self, func: Callable[[Any], Any], batches: Iterable[Any]) -> Iterator[Any]:
        for path in self.chunks:
            items = pickle.loads(path.read_bytes())
            for i in range(0, len(items), BATCH):
                next(iter(batches), None)  # keep the driver's input stream in step
                yield items[i : i + BATCH]

    def close(self) -> None:
        pass


class TimedConnection:
    """A stand-in for the store's ``sqlite3.Connection`` that adds each statement's CPU time to a meter."""

    def __init__(self, conn: Any, seconds: dict[str, float]) -> None:
        self._conn = conn
        self._seconds = seconds

    @staticmethod
    def kind(sql: str) -> str:
        words = sql.split()
        head = words[0].lower()
        if head in {"insert", "delete", "replace"}:
            table = words[2] if words[1].lower() in {"into", "from"} else words[1]
            return f"sql:{head} {table}"
        if head == "update":
            return f"sql:update {words[1]}"
        if head == "select":
            lowered = [w.lower() for w in words]
            table = words[lowered.index("from") + 1] if "from" in lowered else "?"
            return f"sql:select {table}"
        return f"sql:{head}"

    def _timed(self, method: str, sql: str, *args: Any) -> Any:
        t0 = time.thread_time()
        try:
            out = getattr(self._conn, method)(sql, *args)
            # a SELECT's rows are read when fetched: fetch them inside the timing
            return _Rows(out.fetchall()) if sql.lstrip()[:6].lower() == "select" else out
        finally:
            key = self.kind(sql)
            self._seconds[key] = self._seconds.get(key, 0.0) + time.thread_time() - t0

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed("execute", sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed("executemany", sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _Rows:
    """Rows of a timed statement: iterable, with ``fetchone``/``fetchall`` like a cursor."""

    def __init__(self, rows: Any) -> None:
        self._rows = iter(rows)

    def __iter__(self) -> Iterator[Any]:
        return self._rows

    def fetchone(self) -> Any:
        return next(self._rows, None)

    def fetchall(self) -> list[Any]:
        return list(self._rows)


def _io_counters() -> dict[str, int]:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return {}
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


class Meter:
    """CPU seconds spent in wrapped functions, by stage (nested stages are counted in both)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._gc_start = 0.0

    def wrap(self, owner: Any, name: str, stage: str, *, wall: bool = False) -> None:
        """Time ``owner.name`` as ``stage`` (CPU; with ``wall``, also ``<stage>_wall``: waits included)."""
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0, w0 = time.thread_time(), time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.thread_time() - t0
                if wall:
                    key = f"{stage}_wall"
                    self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - w0

        setattr(owner, name, timed)

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.thread_time()
        else:
            spent = time.thread_time() - self._gc_start
            self.seconds["gc"] = self.seconds.get("gc", 0.0) + spent
            key = f"gc{info.get('generation', '')}"
            self.seconds[key] = self.seconds.get(key, 0.0) + spent


def _value(text: str) -> Any:
    if text.lower() == "none":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run(
    size: int, every: int, cache: Path, params: dict[str, Any], *, sql: bool = False
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    import parallax.cluster as cluster
    import parallax.corpus as corpus
    import parallax.dedup as dedup
    import parallax.store as store_module
    from parallax.settings import Settings

    chunks = prepare(size, cache)
    meter = Meter()
    clusterer_cls = cluster.StoryClusterer
    for name, stage in [
        ("add", "cluster_add"),
        ("_candidates", "candidates"),
        ("_score", "score"),
        ("_update", "update"),
        ("_vector", "vector"),
        ("add_copy", "cluster_copy"),
    ]:
        meter.wrap(clusterer_cls, name, stage)
    meter.wrap(dedup.NearDuplicateIndex, "insert", "dedup_insert")
    meter.wrap(store_module.Store, "add_articles", "store_write", wall=True)
    meter.wrap(store_module.Store, "known_hashes", "dup_check")
    meter.wrap(store_module.Store, "existing_ids", "id_check")
    meter.wrap(corpus.CorpusIndex, "state", "checkpoint")
    if params:
        fresh = corpus.CorpusIndex.fresh.__func__  # type: ignore[attr-defined]

        def configured(cls: type[Any]) -> Any:
            index = fresh(cls)
            index.clusterer = clusterer_cls(keep_assignments=False, **params)
            return index

        corpus.CorpusIndex.fresh = classmethod(configured)  # type: ignore[method-assign,assignment]
    gc.callbacks.append(meter.on_gc)
    rows: list[dict[str, Any]] = []
    last_seen, last_cpu, last_stages = [0], [time.thread_time()], [dict(meter.seconds)]
    last_io = [_io_counters()]
    last_process = [time.process_time()]
    clusterers: list[Any] = []
    meter_add = clusterer_cls.add

    def remember(self: Any, features: Any) -> Any:
        if not clusterers or clusterers[-1] is not self:
            clusterers.append(self)
        return meter_add(self, features)

    clusterer_cls.add = remember  # type: ignore[method-assign]

    def progress(p: Any) -> None:
        if p.seen - last_seen[0] < every:
            return
        cpu = time.thread_time()
        n = p.seen - last_seen[0]
        process = time.process_time()
        row: dict[str, Any] = {
            "seen": p.seen,
            "driver": round(1e6 * (cpu - last_cpu[0]) / n, 1),
            "process": round(1e6 * (process - last_process[0]) / n, 1),
        }
        last_process[0] = process
        for stage, seconds in sorted(meter.seconds.items()):
            row[stage] = round(1e6 * (seconds - last_stages[0].get(stage, 0.0)) / n, 1)
        if clusterers:
            c = clusterers[-1]
            row["open_stories"] = len(c._active)
            row["posting_entries"] = sum(map(len, c._postings.values()))
        io = _io_counters()
        if io:
            row["wal_kb"] = round((io["write_bytes"] - last_io[0]["write_bytes"]) / 1024 / n, 1)
            row["read_kb"] = round((io["read_bytes"] - last_io[0]["read_bytes"]) / 1024 / n, 1)
            row["wchar_kb"] = round((io["wchar"] - last_io[0]["wchar"]) / 1024 / n, 1)
            row["rchar_kb"] = round((io["rchar"] - last_io[0]["rchar"]) / 1024 / n, 1)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        row["load_average"] = round(os.getloadavg()[0], 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
        last_seen[0], last_cpu[0], last_stages[0] = p.seen, cpu, dict(meter.seconds)
        last_io[0] = io

    with tempfile.TemporaryDirectory(dir=cache) as tmp, store_module.Store(Path(tmp) / "store.db") as store:
        if sql:
            store._conn = TimedConnection(store._conn, meter.seconds)  # type: ignore[assignment]
        corpus.ingest(
            [],
            store=store,
            settings=Settings(),
            batch_size=BATCH,
            engine=CachedEngine(chunks),  # type: ignore[arg-type]
            documents=itertools.repeat(None, size),  # type: ignore[arg-type]
            progress=progress,
        )
        assigned = store.execute("SELECT id, story_id, copy_of FROM articles ORDER BY seq")
        quality = synthetic_quality([(str(a), str(s)) for a, s, _ in assigned])
        # the same digest from two runs: the same articles, stories and copies
        quality["stories_digest"] = hashlib.sha1(json.dumps(assigned).encode("utf-8")).hexdigest()  # type: ignore[assignment]
    return rows, quality


def synthetic_quality(assigned: Iterable[tuple[str, str]]) -> dict[str, float]:
    """BCubed of the stored stories against the story of the real article each synthetic one was
    made from (``<id>-v<i>``: a copy or a rewrite of article ``<id>``). The generator shifts a
    rewrite's date by up to a month, so recall is low for any window; it compares settings."""
    from parallax.evaluation.clustering import bcubed

    gold_of = {str(b["id"]): str(b["gold_story"]) for b in load_bases()}
    pred, gold = [], []
    for article_id, story_id in assigned:
        pred.append(story_id)
        gold.append(gold_of[article_id.rsplit("-v", 1)[0] if article_id not in gold_of else article_id])
    precision, recall, f1 = bcubed(pred, gold)
    return {
        "bcubed_precision": round(precision, 4),
        "bcubed_recall": round(recall, 4),
        "bcubed_f1": round(f1, 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=0, help="articles per stretch (default: size/5)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "parallax-driver-cache")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], help="a StoryClusterer tunable, KEY=VALUE")
    parser.add_argument("--sql", action="store_true", help="also time each kind of SQL statement")
    args = parser.parse_args(argv)
    params = {k: _value(v) for k, v in (item.split("=", 1) for item in args.set)}
    args.cache.mkdir(parents=True, exist_ok=True)
    rows, quality = run(args.size, args.every or max(1, args.size // 5), args.cache, params, sql=args.sql)
    rates = [1e6 / r["driver"] for r in rows if r["driver"]]
    summary = {
        "size": args.size,
        "params": params,
        "driver_aps_cpu": [round(r) for r in rates],
        "last_vs_first_stretch": round(rates[-1] / rates[0], 3) if len(rates) > 1 else None,
        "synthetic_quality": quality,
        "stretches": rows,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "stretches"}))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
