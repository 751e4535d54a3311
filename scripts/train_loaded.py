"""Regenerate ``src/parallax/data/loaded_terms.json`` from the BASIL ``lex`` annotations.

Usage::

    python scripts/train_loaded.py [/work/shared/data/basil] [--train-years 2010,2011,2012,2013]

Steps (deterministic: no sampling, a deterministic solver, sorted output):

1. read and parse (spaCy, the default pipeline) the BASIL articles of the training years, and
   compute each article's lexicon, part-of-speech and context features once;
2. leave-one-year-out over the training years: for each held-out year, fit the logistic weights on
   the other years and score the held-out year for every (smoothing, C, threshold, gap) on a grid,
   pooling the counts over folds. Corpus features of a training article always come from
   statistics of *other* years (cross-fitting), so the weights never see a lemma's own label;
3. keep the setting with the best pooled token F1 + span F1;
4. fit the weights on all training years (cross-fitted corpus features), the statistics on all
   training years, and write them with the chosen setting.

Only weights, parameters and counts per lemma and per part of speech are written: numbers
computed by the project, no BASIL text. The held-out years (2014-2015 by default) are not read
here; measure them with ``parallax eval loaded /work/shared/data/basil``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from spacy.tokens import Doc

from parallax.evaluation.loaded import BasilDoc, load_basil, score
from parallax.loaded import (
    FEATURES,
    CorpusPrior,
    DocFeatures,
    TermStats,
    featurize,
    fit_term_stats,
    load_lexicon,
    spans_from_scores,
    story_of,
    token_flags,
)
from parallax.nlp import load_pipeline

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "parallax" / "data" / "loaded_terms.json"
MIN_STORIES = 2
SMOOTHING = (1.0, 4.0, 16.0)
C_VALUES = (0.1, 1.0)
THRESHOLDS = tuple(round(0.04 + 0.02 * i, 3) for i in range(30))
GAPS = (0, 1)

log = logging.getLogger("train_loaded")


@dataclass(frozen=True, slots=True)
class Item:
    """A training article: its BASIL record, parse, features and per-candidate labels."""

    basil: BasilDoc
    doc: Doc
    feats: DocFeatures
    labels: list[int]


def fit_stats(items: list[Item]) -> TermStats:
    """Term statistics of ``items`` (stories from the BASIL ids)."""
    return fit_term_stats(
        [(it.doc, list(it.basil.gold)) for it in items], stories=[story_of(it.basil.id) for it in items]
    )


def cross_fitted(items: list[Item], years: list[int], smoothing: float) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (without the bias column) and labels of ``items``, corpus features cross-fitted by year."""
    keys = load_lexicon().words
    xs: list[list[float]] = []
    ys: list[int] = []
    for y in years:
        part = [it for it in items if it.basil.year == y]
        stats = fit_stats([it for it in items if it.basil.year != y])
        prior = CorpusPrior(stats, smoothing=smoothing, min_stories=MIN_STORIES, lexicon_keys=keys)
        for it in part:
            xs += prior.matrix(it.feats)
            ys += it.labels
    return np.array(xs)[:, 1:], np.array(ys)


def fit_weights(x: np.ndarray, y: np.ndarray, c: float) -> dict[str, float]:
    """L2-regularised logistic weights (named as :data:`FEATURES`); lbfgs is deterministic."""
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs")
    model.fit(x, y)
    weights = {"bias": float(model.intercept_[0])}
    weights.update({f: float(w) for f, w in zip(FEATURES[1:], model.coef_[0], strict=True)})
    return weights


def predict(
    items: list[Item], stats: TermStats, weights: dict[str, float], smoothing: float
) -> list[list[float]]:
    """Token scores of every item's doc."""
    prior = CorpusPrior(
        stats, smoothing=smoothing, min_stories=MIN_STORIES, lexicon_keys=load_lexicon().words
    )
    w = np.array([weights[f] for f in FEATURES])
    out = []
    for it in items:
        doc = it.doc
        scores = [0.0] * len(doc)
        if it.feats.index:
            z = np.array(prior.matrix(it.feats)) @ w
            for i, p in zip(it.feats.index, 1.0 / (1.0 + np.exp(-z)), strict=True):
                scores[i] = float(p)
        out.append(scores)
    return out


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
    lexicon = load_lexicon()

    # 1. read, parse, featurize
    docs = load_basil(args.basil, years=years)
    nlp = load_pipeline()
    items: list[Item] = []
    for b, doc in zip(docs, nlp.pipe(d.text for d in docs), strict=True):
        feats = featurize(doc, lexicon)
        flags = token_flags(doc, list(b.gold))
        items.append(Item(b, doc, feats, [int(flags[i]) for i in feats.index]))
    log.info("parsed %d training articles (%d lex spans)", len(docs), sum(len(d.gold) for d in docs))

    # 2. leave-one-year-out grid
    results: dict[tuple[float, float, float, int], dict[str, dict[str, float]]] = {}
    for m, c in product(SMOOTHING, C_VALUES):
        held_scores: list[tuple[Item, list[float]]] = []
        for held in years:
            train = [it for it in items if it.basil.year != held]
            test = [it for it in items if it.basil.year == held]
            x, y = cross_fitted(train, [yr for yr in years if yr != held], m)
            weights = fit_weights(x, y, c)
            held_scores += list(zip(test, predict(test, fit_stats(train), weights, m), strict=True))
        for t, g in product(THRESHOLDS, GAPS):
            triples = [
                (
                    it.doc,
                    list(it.basil.gold),
                    [
                        (s, e)
                        for s, e, _ in spans_from_scores(it.doc, sc, it.feats.phrases, threshold=t, gap=g)
                    ],
                )
                for it, sc in held_scores
            ]
            results[(m, c, t, g)] = score(triples)
        best_here = max(
            (k for k in results if k[:2] == (m, c)),
            key=lambda k: results[k]["token"]["f1"] + results[k]["span"]["f1"],
        )
        log.info("smoothing %s C %s: best %s %s", m, c, best_here, results[best_here])

    # 3. best setting
    best = max(results, key=lambda k: (results[k]["token"]["f1"] + results[k]["span"]["f1"], -k[2]))
    log.info("best (smoothing, C, threshold, gap) = %s: cross-validated %s", best, results[best])

    # 4. final fit and write
    m, c, t, g = best
    x, y = cross_fitted(items, years, m)
    weights = fit_weights(x, y, c)
    stats = fit_stats(items)
    data = {
        "about": (
            "Logistic weights over the features of parallax.loaded, and per-lemma counts "
            "[inside a BASIL lex span, seen, stories] and per-POS counts [inside, seen], computed by "
            "scripts/train_loaded.py. Lemmas are listed when inside spans of >= min_stories stories "
            "or in the shipped lexicon."
        ),
        "train_years": years,
        "params": {"smoothing": m, "C": c, "threshold": t, "gap": g, "min_stories": MIN_STORIES},
        "weights": {k: round(v, 5) for k, v in weights.items()},
        "cross_validation": {"scheme": "leave-one-year-out over train_years", **results[best]},
        **stats.to_json(min_stories=MIN_STORIES, keep=lexicon.words),
    }
    Path(args.out).write_text(
        json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    log.info("wrote %s (%d terms); weights %s", args.out, len(data["terms"]), data["weights"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
