"""The parse cache and long-text chunking: what a corpus report saves, measured in one run.

Usage::

    python benchmarks/doc_cache.py [--stories 10] [--long-chars 200000] [--long-runs 1] [--out FILE.json]

Prints one JSON object with:

* ``grown_stories`` -- per set (the example story; the first ``--stories`` BASIL triplets;
  ``--ecb-stories`` ECB+ events of ``--ecb-size`` articles), summed over its stories:

  - ``grown``: a story's corpus report rebuilt after its last article joins it
    (``Store.get_report`` in a temp store: all but one article, report, the last one, timed
    report), with the store's parse cache (``Settings.doc_cache_mb``) and without it
    (``doc_cache_mb=0``, the code before the cache). Both arms have the sentence-vector cache,
    so they differ only in parsing. Per arm: wall and CPU seconds, articles parsed; ``ratio``
    is with-cache over without;
  - ``recompute``: the same report recomputed with no article added (the report cache
    cleared, as after an upgrade or when the API regenerates it).
* ``per_article`` -- for every BASIL article: CPU ms to parse it alone, to serialise the doc
  (``nlp.doc_to_bytes``) and to load it back (``nlp.doc_from_bytes``), the bytes kept; medians,
  and the load/parse ratio over all articles and over the shortest tenth.
* ``long`` -- the 200,000-character article plus a short one of ``benchmarks/compare.py``:
  spaCy alone (``nlp.parse_texts``) whole against in paragraph chunks, and the full warm
  ``compare`` with and without chunking (arms alternate; ``--long-runs`` each).
* ``load_average_1m`` before and after: the machine is shared, read the same-run ratios.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("PARALLAX_SHARED", ROOT.parent / "shared")) / "data"
BASIL = SHARED / "clustering" / "basil-2010-2015.jsonl"
ECBPLUS = SHARED / "clustering" / "ecbplus-topics-1-35.jsonl"


@contextmanager
def counting_parses() -> Iterator[list[str]]:
    """Record every text ``parallax.nlp.analyze`` sends to spaCy while the block runs."""
    import parallax.nlp

    parsed: list[str] = []
    real = parallax.nlp.parse_texts

    def counting(nlp: Any, texts: Sequence[str], **kw: Any) -> Any:
        parsed.extend(texts)
        return real(nlp, texts, **kw)

    parallax.nlp.parse_texts = counting
    try:
        yield parsed
    finally:
        parallax.nlp.parse_texts = real


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t0: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - t0[0], cpu - t0[1]


def stories(basil: int, ecb: int, ecb_size: int) -> list[tuple[str, str, list[Any]]]:
    """(set, story id, cleaned articles): the example story, ``basil`` BASIL triplets and
    ``ecb`` ECB+ events of at least ``ecb_size`` articles (their first ``ecb_size``)."""
    from parallax import clean, ingest
    from parallax.records import Article
    from parallax.settings import load_settings

    docs = ingest.read_paths([EXAMPLES], settings=load_settings()).documents
    out: list[tuple[str, str, list[Any]]] = [("examples", "examples", list(clean.clean_documents(docs)[0]))]
    for name, path, limit, size in (("basil", BASIL, basil, 3), ("ecbplus", ECBPLUS, ecb, ecb_size)):
        groups: dict[str, list[Any]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            groups.setdefault(str(row["gold_story"]), []).append(
                Article(
                    id=row["id"],
                    source_path=row["id"],
                    text=row["text"].strip(),
                    outlet=row.get("outlet") or row["id"],
                )
            )
        big = [(sid, arts[:size]) for sid, arts in groups.items() if len(arts) >= size]
        out.extend((name, sid, arts) for sid, arts in big[:limit])
    return out


def _timed_report(store: Any, story_id: str, engine: Any) -> tuple[float, float, int]:
    with counting_parses() as parsed:
        t0 = _clock()
        store.get_report(story_id, parallax=engine)
        wall, cpu = _since(t0)
    return wall, cpu, len(parsed)


def grown(story_list: list[tuple[str, str, list[Any]]], embedder: Any) -> dict[str, Any]:
    """Steps ``grown`` and ``recompute``: each story in a fresh temp store per arm."""
    from parallax.pipeline import Parallax
    from parallax.settings import load_settings
    from parallax.store import NewArticle, Store

    engines = {
        "cache": Parallax(settings=load_settings(), embedder=embedder),
        "no_cache": Parallax(settings=load_settings(doc_cache_mb=0), embedder=embedder),
    }
    zero = {"wall_s": 0.0, "cpu_s": 0.0, "parsed": 0}
    # set -> step -> arm -> figures; set -> (stories, articles)
    totals: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for n, (name, sid, arts) in enumerate(story_list):
        per_set = totals.setdefault(name, {"grown": {}, "recompute": {}})
        count, articles = sizes.get(name, (0, 0))
        sizes[name] = (count + 1, articles + len(arts))
        order = list(engines) if n % 2 == 0 else list(reversed(engines))  # alternate against drift
        for arm in order:
            with (
                tempfile.TemporaryDirectory(prefix="parallax-doccache-") as tmp,
                Store(Path(tmp) / "s.db") as store,
            ):
                new = [NewArticle(article=a, content_hash=a.content_hash, story_id=sid) for a in arts]
                store.add_articles(new[:-1])
                store.get_report(sid, parallax=engines[arm])
                store.add_articles(new[-1:])
                for step in ("grown", "recompute"):
                    if step == "recompute":
                        store.execute("DELETE FROM reports")
                    wall, cpu, parsed = _timed_report(store, sid, engines[arm])
                    acc = per_set[step].setdefault(arm, dict(zero))
                    acc["wall_s"] += wall
                    acc["cpu_s"] += cpu
                    acc["parsed"] += parsed
    out: dict[str, Any] = {}
    for name, per_set in totals.items():
        entry: dict[str, Any] = {"stories": sizes[name][0], "articles": sizes[name][1]}
        for step in ("grown", "recompute"):
            arms = per_set[step]
            entry[step] = {arm: {k: round(v, 3) for k, v in vals.items()} for arm, vals in arms.items()}
            entry[step]["ratio"] = {
                k: round(arms["cache"][f"{k}_s"] / arms["no_cache"][f"{k}_s"], 3) for k in ("wall", "cpu")
            }
        out[name] = entry
    return out


def per_article(nlp: Any) -> dict[str, Any]:
    """Step ``per_article``: parse against serialise and load, per BASIL article."""
    from parallax.nlp import doc_from_bytes, doc_to_bytes

    rows = []
    texts = [json.loads(line)["text"].strip() for line in BASIL.read_text(encoding="utf-8").splitlines()]
    for text in texts:
        t0 = time.process_time()
        doc = nlp(text)
        parse = time.process_time() - t0
        t0 = time.process_time()
        blob = doc_to_bytes(doc)
        dump = time.process_time() - t0
        t0 = time.process_time()
        doc_from_bytes(nlp, blob)
        load = time.process_time() - t0
        rows.append((len(text), parse, dump, load, len(blob)))
    rows.sort()
    short = rows[: max(1, len(rows) // 10)]

    def med(sel: list[tuple[int, float, float, float, int]], i: int, scale: float = 1000.0) -> float:
        return round(statistics.median(r[i] for r in sel) * scale, 3)

    return {
        "articles": len(rows),
        "median_chars": med(rows, 0, 1),
        "parse_ms": med(rows, 1),
        "serialise_ms": med(rows, 2),
        "load_ms": med(rows, 3),
        "bytes": med(rows, 4, 1),
        "load_over_parse": round(sum(r[3] for r in rows) / sum(r[1] for r in rows), 4),
        "shortest_tenth": {
            "articles": len(short),
            "median_chars": med(short, 0, 1),
            "parse_ms": med(short, 1),
            "load_ms": med(short, 3),
            "load_over_parse": round(sum(r[3] for r in short) / sum(r[1] for r in short), 4),
        },
    }


def long_case(chars: int, runs: int) -> dict[str, Any]:
    """Step ``long``: the long article of ``benchmarks/compare.py``, whole against chunked."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from compare import long_story  # type: ignore[import-not-found]

    import parallax.pipeline
    from parallax import clean, ingest
    from parallax.nlp import LONG_TEXT_CHUNK, analyze, load_pipeline, parse_texts
    from parallax.pipeline import Parallax

    with tempfile.TemporaryDirectory(prefix="parallax-long-") as tmp:
        directory = long_story(Path(tmp) / "long", chars)
        px = Parallax()
        px.warm_up()
        nlp = load_pipeline(px.settings.spacy_model)
        docs = ingest.read_paths([directory], settings=px.settings).documents
        texts = [a.text for a in clean.clean_documents(docs)[0]]
        arms: dict[str, Callable[[], Any]] = {
            "spacy_whole": lambda: parse_texts(nlp, texts, chunk_chars=0),
            "spacy_chunked": lambda: parse_texts(nlp, texts),
        }
        out: dict[str, Any] = {"chars": [len(t) for t in texts], "chunk_chars": LONG_TEXT_CHUNK}
        samples: dict[str, list[tuple[float, float]]] = {}
        for _ in range(max(2, runs)):
            for name, fn in arms.items():
                t0 = _clock()
                fn()
                samples.setdefault(name, []).append(_since(t0))
        whole = functools.partial(analyze, chunk_chars=0)
        for i in range(runs):
            order = (
                ["compare_chunked", "compare_whole"] if i % 2 == 0 else ["compare_whole", "compare_chunked"]
            )
            for name in order:
                if name == "compare_whole":
                    parallax.pipeline.analyze = whole  # type: ignore[attr-defined]
                try:
                    t0 = _clock()
                    px.compare_paths([directory])
                    samples.setdefault(name, []).append(_since(t0))
                finally:
                    parallax.pipeline.analyze = analyze  # type: ignore[attr-defined]
    for name, vals in samples.items():
        out[name] = {
            "wall_s": round(statistics.median(v[0] for v in vals), 3),
            "cpu_s": round(statistics.median(v[1] for v in vals), 3),
            "runs": len(vals),
        }
    for a, b in (("spacy_chunked", "spacy_whole"), ("compare_chunked", "compare_whole")):
        if a in out and b in out:
            out[f"{a}_over_whole"] = {
                k: round(out[a][f"{k}_s"] / out[b][f"{k}_s"], 3) for k in ("wall", "cpu")
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10, help="BASIL triplets besides the example story")
    parser.add_argument("--ecb-stories", type=int, default=4, help="ECB+ events grown to --ecb-size articles")
    parser.add_argument(
        "--ecb-size", type=int, default=12, help="articles of a grown ECB+ story (12: get_report's cap)"
    )
    parser.add_argument("--long-chars", type=int, default=200_000, help="0 skips the long article")
    parser.add_argument("--long-runs", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not BASIL.is_file():
        parser.error(f"{BASIL}: shared data not found (set PARALLAX_SHARED)")
    from parallax.embed import get_embedder
    from parallax.nlp import load_pipeline
    from parallax.settings import load_settings

    load_before = os.getloadavg()
    settings = load_settings()
    nlp = load_pipeline(settings.spacy_model)
    embedder = get_embedder(settings.embedder)
    embedder.encode(["warm up"])
    result: dict[str, Any] = {
        "benchmark": "doc_cache",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "embedder": settings.embedder,
        "grown_stories": grown(stories(args.stories, args.ecb_stories, args.ecb_size), embedder),
        "per_article": per_article(nlp),
    }
    if args.long_chars:
        result["long"] = long_case(args.long_chars, args.long_runs)
    result["load_average_1m"] = {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
