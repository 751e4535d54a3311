"""Fit the summary's selection model (``src/parallax/data/summary_model.json``) on NeuS train.

Usage::

    python scripts/train_summary.py [/work/shared/data/neus] [--embedder hashing] [--folds 5]
        [--cache DIR]

Steps (deterministic: fixed folds, closed-form ridge, lbfgs logistic regression):

1. run Parallax's stages up to the summary on every story of the NeuS *train* split (analyze,
   align, framing: :func:`parallax.evaluation.summary.story_inputs`), and compute the features
   of every candidate sentence (:func:`parallax.summary.candidate_features`) and of every term
   of the story (:func:`parallax.summary.term_features`);
2. labels: a sentence's own ROUGE against the editors' neutral summary (mean of ROUGE-1 and
   ROUGE-2 F1, stemming on); a term's label is whether the editors' summary uses it (same
   stemmer);
3. ``--folds``-fold cross-validation over stories: fit both models on the other folds and score
   the held-out fold's summaries end to end (:func:`parallax.summary.select_facts` with the
   evaluation's word budget, cut at that budget, ROUGE-1/2/L F1 against the target) for every
   setting of the selection (term weighting: learned or outlet counts; whether facts whose
   every wording is loaded are dropped; sentence weight), then for length power, status order
   and redundancy at the best of those;
4. keep the setting with the best mean ROUGE-1 + ROUGE-2 + ROUGE-L, refit on all train stories,
   and write the weights with the cross-validated figures.

The val split is never read here: it is the report set (``parallax eval summary --split val``).
Only feature names, weights and standardisation constants are written, numbers computed by the
project; NeuS carries no explicit licence, so none of its text is shipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from rouge_score import rouge_scorer, tokenizers
from sklearn.linear_model import LogisticRegression

from parallax.evaluation.summary import WORDS, load_neus, story_inputs, truncate
from parallax.summary import (
    FEATURES,
    TERM_FEATURES,
    Candidate,
    Linear,
    SelectionModel,
    candidate_features,
    candidates_of,
    select_facts,
    term_features,
)

log = logging.getLogger("train_summary")

OUT = Path(__file__).resolve().parents[1] / "src" / "parallax" / "data" / "summary_model.json"
CACHE = Path("/tmp/parallax-train-summary")
ALPHA = 100.0  # ridge strength of the sentence model (its ranking barely moves from 10 to 1000)
LENGTH_POWER = (0.0, 0.25)
#: Sentence weights per term weighting: outlet counts (2 or 3 per term) give gains about five
#: times those of probabilities, so the sentence score needs a larger weight to matter as much.
SENTENCE_WEIGHT = {"learned": (0.0, 5.0, 20.0), "outlets": (0.0, 20.0, 60.0)}
DROP_LOADED = (True, False)
STATUS_FIRST = (False, True)
REDUNDANCY = (0.5, 0.6, 0.8)  # below 1, so a sentence is never repeated
#: The sentence model leaves out the features that come from the alignment (how many outlets
#: carry the sentence's fact and how closely): cross-validated on train they add nothing
#: (R1 40.22 without them, 40.20 with them, outlet-count terms), and without them the model does
#: not depend on the dense embedder the pipeline aligns with.
ALIGNMENT_FEATURES = frozenset({"share", "consensus", "fact_score", "share_x_first"})
SENTENCE_FEATURES = tuple(f for f in FEATURES if f not in ALIGNMENT_FEATURES)
SETTINGS = ("term_weighting", "drop_loaded", "length_power", "sentence_weight", "status_first", "redundancy")
STATUS_ORDER = {"consensus": 0, "partial": 1, "unique": 2}


@dataclass(frozen=True)
class Prepared:
    """One training story: its target, candidates, features and labels."""

    target: str
    candidates: list[Candidate]
    x: np.ndarray
    y: np.ndarray
    terms: list[frozenset[int]]
    term_x: np.ndarray
    term_y: np.ndarray


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    return (x - mean) / scale, mean, scale


def fit_sentences(x: np.ndarray, y: np.ndarray, *, alpha: float = ALPHA) -> Linear:
    """Ridge regression on the standardised :data:`SENTENCE_FEATURES` of ``x`` (closed form)."""
    z, mean, scale = standardise(x[:, [FEATURES.index(f) for f in SENTENCE_FEATURES]])
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    return Linear(
        SENTENCE_FEATURES,
        tuple(map(float, w)),
        float(y.mean()),
        tuple(map(float, mean)),
        tuple(map(float, scale)),
    )


def fit_terms(x: np.ndarray, y: np.ndarray) -> Linear:
    """Logistic regression on standardised term features."""
    z, mean, scale = standardise(x)
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(z, y)
    return Linear(
        TERM_FEATURES,
        tuple(map(float, lr.coef_[0])),
        float(lr.intercept_[0]),
        tuple(map(float, mean)),
        tuple(map(float, scale)),
    )


def prepare(neus: Path, *, embedder: str, limit: int | None, cache: Path | None) -> list[Prepared]:
    """Steps 1-2, cached in ``cache`` (the candidates are plain records, so they pickle)."""
    if cache is not None and cache.is_file():
        with cache.open("rb") as fh:
            cached: list[Prepared] = pickle.load(fh)
        return cached
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    stem = tokenizers.DefaultTokenizer(use_stemmer=True)
    prepared: list[Prepared] = []
    for item in story_inputs(load_neus(neus, split="train", limit=limit), split="train", embedder=embedder):
        cands = candidates_of(item.analyzed, item.facts, item.framing)
        if not cands:
            continue
        y = []
        for c in cands:
            r = scorer.score(item.story.target, c.wording.mention.text)
            y.append((r["rouge1"].fmeasure + r["rouge2"].fmeasure) / 2)
        terms, term_x, keys = term_features(item.analyzed, cands, item.framing)
        used = set(stem.tokenize(item.story.target))
        term_y = np.array([1.0 if set(stem.tokenize(k)) & used else 0.0 for k in keys])
        x = candidate_features(item.analyzed, cands)
        prepared.append(Prepared(item.story.target, cands, x, np.asarray(y), terms, term_x, term_y))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as fh:
            pickle.dump(prepared, fh)
    return prepared


def fit(prepared: list[Prepared], **selection: Any) -> SelectionModel:
    return SelectionModel(
        sentences=fit_sentences(np.vstack([p.x for p in prepared]), np.concatenate([p.y for p in prepared])),
        terms=fit_terms(
            np.vstack([p.term_x for p in prepared]), np.concatenate([p.term_y for p in prepared])
        ),
        **selection,
    )


def summary_scores(prepared: list[Prepared], model: SelectionModel, scorer: Any) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 x100 of the summaries of ``prepared`` at the evaluation's word budget,
    chosen as :func:`parallax.summary.summarize` chooses them (facts shown by status)."""
    out: dict[str, list[float]] = {"rouge1": [], "rouge2": [], "rougeL": []}
    for p in prepared:
        chosen = select_facts(
            p.candidates,
            model.sentence_scores(p.x),
            p.terms,
            model.term_weights(p.term_x, articles=len({c.wording.mention.article for c in p.candidates})),
            sentences=50,
            words=WORDS,
            redundancy=model.redundancy,
            status_first=model.status_first,
            length_power=model.length_power,
            sentence_weight=model.sentence_weight,
            drop_loaded=model.drop_loaded,
        )
        shown = sorted(chosen, key=lambda fw: STATUS_ORDER[fw[0].status])
        result = scorer.score(p.target, truncate([w.mention.text for _, w in shown], WORDS))
        for metric in out:
            out[metric].append(result[metric].fmeasure * 100)
    return {m: float(np.mean(v)) for m, v in out.items()}


def cross_validate(
    prepared: list[Prepared], settings: list[dict[str, Any]], *, folds: int, scorer: Any
) -> list[dict[str, Any]]:
    """Step 3 for each setting: the pooled held-out figures."""
    parts = [prepared[k::folds] for k in range(folds)]
    fitted = []
    for k in range(folds):
        base = fit([p for j, f in enumerate(parts) if j != k for p in f])
        fitted.append(base)
    results = []
    for setting in settings:
        pooled = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
        for k, held in enumerate(parts):
            model = SelectionModel(sentences=fitted[k].sentences, terms=fitted[k].terms, **setting)
            for m, v in summary_scores(held, model, scorer).items():
                pooled[m] += v * len(held) / len(prepared)
        row = {**setting, **{m: round(v, 2) for m, v in pooled.items()}}
        log.info("%s", row)
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("neus", nargs="?", default="/work/shared/data/neus", type=Path)
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="first N train stories (development)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cache", type=Path, default=CACHE, help="folder of the feature cache")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    # 1. stages and features, 2. labels
    cache = None if args.no_cache else args.cache / f"train-{args.embedder}-{args.limit or 'all'}-v2.pkl"
    prepared = prepare(args.neus, embedder=args.embedder, limit=args.limit, cache=cache)
    log.info("%d stories, %d candidates", len(prepared), sum(len(p.y) for p in prepared))

    # 3. cross-validation over stories, end to end: the selection first, then order and redundancy
    best_of: Callable[[list[dict[str, Any]]], dict[str, Any]] = lambda rows: max(  # noqa: E731
        rows, key=lambda r: r["rouge1"] + r["rouge2"] + r["rougeL"]
    )
    first = {"length_power": 0.0, "status_first": False, "redundancy": 0.6}
    grid = [
        {"term_weighting": tw, "drop_loaded": dl, "sentence_weight": sw, **first}
        for tw, weights in SENTENCE_WEIGHT.items()
        for dl, sw in product(DROP_LOADED, weights)
    ]
    results = cross_validate(prepared, grid, folds=args.folds, scorer=scorer)
    top = best_of(results)
    grid = [
        {**{k: top[k] for k in ("term_weighting", "drop_loaded", "sentence_weight")},
         "length_power": lp, "status_first": sf, "redundancy": r}
        for lp, sf, r in product(LENGTH_POWER, STATUS_FIRST, REDUNDANCY)
        if {"length_power": lp, "status_first": sf, "redundancy": r} != first
    ]  # fmt: skip
    results += cross_validate(prepared, grid, folds=args.folds, scorer=scorer)
    best = best_of(results)

    # 4. refit on everything with the chosen setting
    setting = {k: best[k] for k in SETTINGS}
    model = fit(prepared, **setting)
    data: dict[str, Any] = {
        **model.to_json(),
        "trained_on": f"NeuS train ({len(prepared)} stories), embedder {args.embedder}; labels: each "
        "sentence's mean ROUGE-1/ROUGE-2 F1 against the target, each term's use in the target",
        "cv": {"folds": args.folds, "words_budget": WORDS, "grid": results, "chosen": best},
        "licence": "weights computed by Parallax; no NeuS text",
    }
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    log.info("wrote %s (chosen %s)", args.out, best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
