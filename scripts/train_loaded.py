"""Regenerate ``src/parallax/data/loaded_terms.json`` from the BASIL ``lex`` annotations.

Usage::

    python scripts/train_loaded.py [/work/shared/data/basil] [--train-years 2010,2011,2012,2013]

Steps (deterministic: no sampling, sorted output):

1. read and parse (spaCy, the default pipeline) the BASIL articles of the training years;
2. leave-one-year-out over the training years: fit term statistics on the other years, score the
   held-out year for every (smoothing, threshold, gap) on a grid, pooling the counts over folds;
3. keep the setting with the best pooled token F1 (span F1 breaks ties);
4. fit the statistics on all training years and write them with the chosen setting.

Only counts per lemma and per part of speech are written: numbers computed by the project, no
BASIL text. The held-out years (2014-2015 by default) are not read here; measure them with
``parallax eval loaded /work/shared/data/basil``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from itertools import product
from pathlib import Path

from parallax.evaluation.loaded import load_basil, score
from parallax.loaded import LoadedWordingDetector, fit_term_stats
from parallax.nlp import load_pipeline

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "parallax" / "data" / "loaded_terms.json"
SMOOTHING = (0.5, 1.0, 2.0, 4.0, 8.0)
THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(23))
GAPS = (0, 1)

log = logging.getLogger("train_loaded")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("basil", nargs="?", default=str(ROOT.parent / "shared" / "data" / "basil"))
    parser.add_argument("--train-years", default="2010,2011,2012,2013")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    years = [int(y) for y in args.train_years.split(",")]

    # 1. read and parse
    docs = load_basil(args.basil, years=years)
    nlp = load_pipeline()
    parsed = list(zip(docs, nlp.pipe(d.text for d in docs), strict=True))
    log.info("parsed %d training articles (%d lex spans)", len(docs), sum(len(d.gold) for d in docs))

    # 2. leave-one-year-out grid
    results: dict[tuple[float, float, int], dict[str, dict[str, float]]] = {}
    folds = []
    for held in years:
        train = [(doc, list(b.gold)) for b, doc in parsed if b.year != held]
        test = [(b, doc) for b, doc in parsed if b.year == held]
        folds.append((fit_term_stats(train), test))
    for m, t, g in product(SMOOTHING, THRESHOLDS, GAPS):
        triples = []
        for stats, test in folds:
            det = LoadedWordingDetector(stats, smoothing=m, threshold=t, gap=g)
            triples += [(doc, list(b.gold), [(s, e) for s, e, _ in det.doc_spans(doc)]) for b, doc in test]
        results[(m, t, g)] = score(triples)

    # 3. best setting
    best = max(results, key=lambda k: (results[k]["token"]["f1"], results[k]["span"]["f1"]))
    log.info("best (smoothing, threshold, gap) = %s: cross-validated %s", best, results[best])

    # 4. final fit and write
    stats = fit_term_stats([(doc, list(b.gold)) for b, doc in parsed])
    m, t, g = best
    data = {
        "about": (
            "Per-lemma and per-POS counts (inside a BASIL lex span, seen) computed by "
            "scripts/train_loaded.py; only lemmas seen inside a span at least once are listed."
        ),
        "train_years": years,
        "params": {"smoothing": m, "threshold": t, "gap": g},
        "cross_validation": {"scheme": "leave-one-year-out over train_years", **results[best]},
        **stats.to_json(),
    }
    Path(args.out).write_text(
        json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    log.info("wrote %s (%d terms)", args.out, len(data["terms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
