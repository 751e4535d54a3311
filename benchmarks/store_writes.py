"""What one ingest batch costs the store as it grows: :meth:`Store.add_articles` alone, per stretch.

Usage::

    python benchmarks/store_writes.py [--articles 300000] [--every 50000] [--batch 1000]
                                      [--background] [--db FILE]
    strace -f -e trace=fsync,fdatasync -T -o FSYNC.txt python benchmarks/store_writes.py ...
    python benchmarks/store_writes.py --fsync-summary FSYNC.txt

The corpus driver (``benchmarks/corpus_driver.py``) measures CPU time, which hides what the
writer *waits* for: with SQLite's automatic checkpoints, the committing connection copies the WAL
into the database and ``fsync``s both files. This replays a stream shaped like the synthetic set
of ``benchmarks/corpus.py`` (texts of the shared clustering corpora; random article ids and content
hashes; about 1,700 open stories, a new story for 16% of articles, 22% copies of a recent article,
19% dated; a 40 MB ingest-state blob every 33 batches, as the 1M run's checkpoints wrote) through
:meth:`Store.add_articles` with the duplicate and id look-ups of each batch, without clustering,
and prints per stretch: CPU and wall microseconds per article and the kilobytes the process wrote
and read per article. ``--background`` runs the writes inside :meth:`Store.background_checkpoints`
as ``parallax ingest`` does. Under ``strace`` the ``fsync`` calls and their durations are logged;
``--fsync-summary`` prints their count and mean duration over each sixth of the run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import load_bases  # the real texts the synthetic set is made from


def _io() -> dict[str, int]:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return {"wchar": 0, "rchar": 0}
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


def run(
    db: Path, *, articles: int, every: int, batch: int, background: bool, state_mb: float
) -> list[dict[str, Any]]:
    from parallax.records import Article
    from parallax.store import NewArticle, Store

    texts = [str(b["text"]) for b in load_bases()]
    rng = random.Random(0)
    opened: list[str] = []
    recent: list[tuple[str, str]] = []  # (article id, story id) of recent originals
    outlets = [f"Outlet {i}" for i in range(25)]
    rows: list[dict[str, Any]] = []
    seen, since_state = 0, 0
    with Store(db) as store, store.writer():
        scope = store.background_checkpoints() if background else contextlib.nullcontext()
        with scope:
            last = (time.process_time(), time.perf_counter(), _io())
            while seen < articles:
                new = []
                for _ in range(batch):
                    seen += 1
                    aid = f"{rng.getrandbits(128):032x}-v{seen % 997}"
                    if not opened or rng.random() < 0.157:
                        sid = "s-" + hashlib.sha1(aid.encode()).hexdigest()[:12]
                        opened.append(sid)
                        if len(opened) > 1700:  # an older story goes quiet
                            opened.pop(rng.randrange(len(opened) // 4))
                    else:
                        sid = opened[rng.randrange(len(opened))]
                    copy_of = None
                    if recent and rng.random() < 0.22:
                        copy_of, sid = recent[rng.randrange(len(recent))]
                    text = f"{texts[seen % len(texts)]} {aid}"
                    dated = rng.random() < 0.19
                    published = (
                        f"201{rng.randrange(6)}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"
                    )
                    article = Article(
                        id=aid,
                        source_path="corpus.jsonl",
                        text=text,
                        outlet=outlets[rng.randrange(len(outlets))],
                        outlet_source="field",
                        title=text[:60] if rng.random() < 0.9 else None,
                        published=published if dated else None,
                        record=seen,
                    )
                    digest = hashlib.sha1(text.encode()).hexdigest()
                    new.append(
                        NewArticle(article=article, content_hash=digest, story_id=sid, copy_of=copy_of)
                    )
                    if copy_of is None:
                        recent.append((aid, sid))
                        if len(recent) > 5000:
                            recent.pop(0)
                store.known_hashes([n.content_hash for n in new])
                store.existing_ids([n.article.id for n in new])
                since_state += 1
                state = None
                if state_mb and since_state >= 33:
                    state = {f"state.{seen:012d}": os.urandom(int(state_mb * 2**20))}
                    since_state = 0
                store.add_articles(new, state=state)
                if seen % every < batch:
                    now = (time.process_time(), time.perf_counter(), _io())
                    n = seen - (rows[-1]["seen"] if rows else 0)
                    row = {
                        "seen": seen,
                        "cpu_us": round(1e6 * (now[0] - last[0]) / n, 1),
                        "wall_us": round(1e6 * (now[1] - last[1]) / n, 1),
                        "written_kb": round((now[2]["wchar"] - last[2]["wchar"]) / 1024 / n, 1),
                        "read_kb": round((now[2]["rchar"] - last[2]["rchar"]) / 1024 / n, 1),
                        "load_average": round(os.getloadavg()[0], 1),
                    }
                    print(json.dumps(row), flush=True)
                    rows.append(row)
                    last = now
    return rows


def fsync_summary(path: Path, parts: int = 6) -> list[dict[str, float]]:
    """Count and mean duration (ms) of the ``fsync``/``fdatasync`` calls in an ``strace -T`` log, by part."""
    times = [
        float(m.group(1))
        for line in path.read_text().splitlines()
        if "sync(" in line and (m := re.search(r"<([0-9.]+)>$", line))
    ]
    size = max(1, -(-len(times) // parts))
    return [
        {
            "calls": len(chunk),
            "mean_ms": round(1000 * sum(chunk) / len(chunk), 2),
            "total_s": round(sum(chunk), 2),
        }
        for chunk in (times[i : i + size] for i in range(0, len(times), size))
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300_000)
    parser.add_argument("--every", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--background", action="store_true", help="checkpoint the WAL on a thread of its own")
    parser.add_argument("--state-mb", type=float, default=40.0, help="ingest-state blob every 33 batches")
    parser.add_argument("--db", type=Path, default=None, help="store file (default: a temporary one)")
    parser.add_argument(
        "--fsync-summary", type=Path, default=None, help="summarise an strace -T log and exit"
    )
    args = parser.parse_args(argv)
    if args.fsync_summary is not None:
        print(json.dumps(fsync_summary(args.fsync_summary)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "store.db"
        rows = run(
            db,
            articles=args.articles,
            every=args.every,
            batch=args.batch,
            background=args.background,
            state_mb=args.state_mb,
        )
    print(
        json.dumps(
            {
                "articles": args.articles,
                "batch": args.batch,
                "background": args.background,
                "cpu_us": [r["cpu_us"] for r in rows],
                "wall_us": [r["wall_us"] for r in rows],
                "written_kb": [r["written_kb"] for r in rows],
            }
        )
    )


if __name__ == "__main__":
    main()
