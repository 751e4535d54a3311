"""How long outlet profiles take over a large store, against two baselines measured in the same run.

Builds (or reuses, with ``--db``) a store of ``--articles`` synthetic articles: stories of 1-5
articles from ``--outlets`` outlets, spread over a year, each story with its per-outlet profile rows
(the counts and evidence :func:`parallax.profiles.stats_from_report` derives from the example
report, renamed to the story's outlets), as if every report had been computed. Then it times:

* ``profiles_all``   - :func:`build_profiles` for every outlet (the ``/outlets`` page, ``parallax outlets``);
* ``profile_one``    - one outlet with its evidence (``/outlets/{name}``);
* ``scan_articles``  - baseline: one ``GROUP BY outlet`` pass over the articles table (the floor
  for anything that looks at every article);
* ``from_reports``   - baseline: deriving the same rows from the story reports instead
  (``stats_from_report`` over ``--sample`` reports, extrapolated to every story): what profiles
  would cost without the incremental rows.

Prints one JSON object; the ratios are what to compare across machines.

Usage: ``python benchmarks/outlets.py [--articles 100000] [--outlets 60] [--db FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from parallax.profiles import STAT_COLUMNS, build_profiles, stats_from_report
from parallax.records import Article
from parallax.report import StoryReport
from parallax.store import NewArticle, Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "report_fixture.json"


def build(db: Path, *, articles: int, outlets: int, seed: int = 7) -> int:
    """Fill ``db`` with synthetic stories and their profile rows; return the number of stories."""
    rng = random.Random(seed)
    report = StoryReport.model_validate_json(FIXTURE.read_text(encoding="utf-8"))
    template = stats_from_report(report)
    names = [f"Outlet {i:03d}" for i in range(outlets)]
    start = time.perf_counter()
    n = 0
    story = 0
    with Store(db) as store:
        while n < articles:
            batch: list[NewArticle] = []
            stats_rows: list[tuple[str, list[str]]] = []
            while len(batch) < 2000 and n < articles:
                story += 1
                sid = f"s-{story:07d}"
                day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                chosen = rng.sample(names, k=min(outlets, rng.choice([1, 2, 3, 3, 4, 5])))
                for outlet in chosen:
                    n += 1
                    text = f"Article {n} of story {story} by {outlet}. " * 20
                    art = Article(
                        id=f"a-{n:08d}", source_path="bench", text=text, outlet=outlet, published=day
                    )
                    batch.append(NewArticle(article=art, content_hash=f"h{n}", story_id=sid))
                stats_rows.append((sid, chosen))
            store.add_articles(batch)
            rows, terms = [], []
            for sid, chosen in stats_rows:
                for outlet, stats in zip(chosen, template, strict=False):
                    evidence = [dict(e.to_json(), story=sid) for e in stats.evidence]
                    rows.append((sid, 1, outlet, *stats.row().values(), json.dumps(evidence)))
                    terms += [(sid, outlet, *t) for t in stats.terms()]
            cols = ", ".join(STAT_COLUMNS)
            marks = ", ".join("?" * len(STAT_COLUMNS))
            conn = store._conn
            conn.executemany(
                f"INSERT OR REPLACE INTO outlet_stats (story_id, story_version, outlet, {cols}, evidence) "
                f"VALUES (?, ?, ?, {marks}, ?)",
                rows,
            )
            conn.executemany("INSERT INTO outlet_terms VALUES (?, ?, ?, ?, ?, ?, ?)", terms)
    print(f"built {n} articles, {story} stories in {time.perf_counter() - start:.1f} s", flush=True)
    return story


def timed(fn: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--outlets", type=int, default=60)
    parser.add_argument("--sample", type=int, default=200, help="reports for the from-reports baseline")
    parser.add_argument("--db", type=Path, default=None, help="reuse (or build) this store")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="parallax-outlets-"))
    db = args.db or workdir / "outlets.db"
    if not db.exists():
        build(db, articles=args.articles, outlets=args.outlets)
    report_json = FIXTURE.read_text(encoding="utf-8")
    with Store(db, readonly=True) as store:
        n_articles = store.count_articles()
        n_stories = len(store.story_ids())
        profiles = build_profiles(store)
        one = profiles[0].name
        results = {
            "profiles_all": timed(lambda: build_profiles(store)),
            "profile_one": timed(lambda: build_profiles(store, outlet=one)),
            "scan_articles": timed(
                lambda: store.execute("SELECT outlet, count(*), min(published) FROM articles GROUP BY outlet")
            ),
        }

        def from_reports() -> None:
            for _ in range(args.sample):
                stats_from_report(StoryReport.model_validate_json(report_json))

        results["from_reports"] = timed(from_reports, repeat=1) * n_stories / args.sample
    out = {
        "benchmark": "outlets",
        "articles": n_articles,
        "stories": n_stories,
        "outlets": len(profiles),
        "seconds": {k: round(v, 4) for k, v in results.items()},
        "ratios": {
            "profiles_all_vs_scan_articles": round(results["profiles_all"] / results["scan_articles"], 2),
            "from_reports_vs_profiles_all": round(results["from_reports"] / results["profiles_all"], 1),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
