"""Fit the cascade's static pair model and choose its margin by cross-validation on MSRP train.

The cascade embedder (``minilm-cascade``, :class:`parallax.embed.CascadeEmbedder`) scores every
candidate pair with the static vectors (``minilm-static``) and a pair model fitted on them, and
re-scores with MiniLM and the shipped model only the pairs whose static logit lies within a
margin of the static threshold (:func:`parallax.align._cascade_scores`). This script:

1. computes the MSRP train features with each embedder (parses and vectors cached in
   ``--cache-dir``);
2. per fold of a stratified 5-fold split (``--seeds``, the first one chooses the margin), fits
   both models on four folds and scores the fifth as the cascade would, for each margin of the
   grid (logit units); prints accuracy, ROC-AUC and the share of pairs re-scored;
3. picks the smallest margin whose cross-validated accuracy and ROC-AUC are both at least the
   MiniLM model's alone (an infinite margin), and writes the static model fitted on the whole
   train split with that margin to ``--out`` (only coefficients: MSRP's research licence).

Nothing is tuned on MSRP test. Needs scikit-learn (dev dependency).

Usage: ``python scripts/fit_cascade.py ../shared/data/msrp [--cache-dir DIR] [--seeds 13 7 21] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from parallax.align import STATIC_MODEL_PATH
from parallax.evaluation.align import _folds, fit_model, load_msrp, metrics, prepare

GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, float("inf"))


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    out: np.ndarray = np.log(q / (1 - q))
    return out


def cascade_cv(
    x_slow: np.ndarray, x_fast: np.ndarray, labels: np.ndarray, *, seed: int
) -> dict[float, dict[str, float]]:
    """Out-of-fold cascade scores per margin of :data:`GRID`, as metrics plus the re-scored share."""
    n = len(labels)
    scores = {m: np.zeros(n) for m in GRID}
    decided = {m: np.zeros(n, dtype=np.int64) for m in GRID}
    near = {m: np.zeros(n, dtype=bool) for m in GRID}
    for train, test in _folds(labels, 5, seed):
        slow = fit_model(x_slow[train], labels[train])
        fast = fit_model(x_fast[train], labels[train])
        p_slow = slow.probability(x_slow[test])
        z = _logit(fast.probability(x_fast[test])) - _logit(fast.threshold)
        shifted = 1.0 / (1.0 + np.exp(-(z + _logit(slow.threshold))))
        for m in GRID:
            close = np.abs(z) < m
            s = np.where(close, p_slow, shifted)
            scores[m][test], decided[m][test], near[m][test] = s, s >= slow.threshold, close
    return {
        m: {**metrics(scores[m], decided[m], labels, None), "rescored": round(float(near[m].mean()), 4)}
        for m in GRID
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("msrp", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--slow", default="minilm")
    parser.add_argument("--fast", default="minilm-static")
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 7, 21])
    parser.add_argument("--out", type=Path, default=STATIC_MODEL_PATH)
    args = parser.parse_args()
    pairs = load_msrp(args.msrp, "train")
    x_slow = prepare(pairs, embedder=args.slow, cache_dir=args.cache_dir)
    x_fast = prepare(pairs, embedder=args.fast, cache_dir=args.cache_dir)
    labels = x_slow.labels
    chosen = None
    for n, seed in enumerate(args.seeds):
        table = cascade_cv(x_slow.x, x_fast.x, labels, seed=seed)
        full = table[float("inf")]
        for m, r in table.items():
            print(json.dumps({"seed": seed, "margin": m if m != float("inf") else "inf", **r}))
        if n == 0:
            ok = [
                m
                for m, r in table.items()
                if r["accuracy"] >= full["accuracy"] and r["roc_auc"] >= full["roc_auc"]
            ]
            chosen = min(ok)
    assert chosen is not None
    model = fit_model(x_fast.x, labels)
    out = {
        "licence": "Coefficients computed by Parallax on MSRP train (Microsoft Research Paraphrase Corpus, "
        "research licence). Only these numbers are shipped, no MSRP text.",
        "trained_on": f"msr_paraphrase_train.txt, {len(labels)} pairs, embedder {args.fast}",
        "command": "python scripts/fit_cascade.py DIR --cache-dir C",
        **model.to_json(),
        "cascade_margin": chosen,
        "cascade_margin_chosen_by": f"MSRP train 5-fold CV (seed {args.seeds[0]}): smallest margin of "
        f"{[m for m in GRID if m != float('inf')]} whose cascade accuracy and ROC-AUC are >= the "
        f"{args.slow} model's alone",
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"margin {chosen}; wrote {args.out}")


if __name__ == "__main__":
    main()
