"""Does a dense sentence representation help the summary's sentence model? (NeuS train, 5-fold CV)

Usage::

    python scripts/summary_dense_cv.py [/work/shared/data/neus] [--cache /tmp/p11c-cache]
        [--train-cache /tmp/p11-cache/train-hashing-all-v2.pkl]

An experiment, not a step of training: it reads the feature cache of ``scripts/train_summary.py``
(the candidates of every NeuS *train* story, their lexical features and labels), encodes every
candidate sentence once with the pipeline's default embedder (``minilm-numpy``, all-MiniLM-L6-v2;
the vectors are cached in ``--cache``), and cross-validates the shipped selection (learned terms,
sentence weight 20, redundancy 0.5, loaded facts kept) with the sentence model's features
extended by:

1. *dense consensus*: cosine of the sentence with the other articles' centroid, with the story's
   centroid, with the other articles' headlines (best), with any sentence of another article
   (best and mean), and the within-story rank of four of them;
2. the 384-d MiniLM vector itself (what kind of sentence editors keep), ridge strength 300 or
   3000, or its first 64 principal components fitted on the training folds only;
3. a pairwise learner: logistic regression on within-story feature differences of sentence
   pairs whose labels differ by more than 0.03 (which of two sentences of one story the editors
   paraphrase more).

Same folds (``prepared[k::5]``), greedy (:func:`parallax.summary.select_facts`), display order
and 67-word cut as ``scripts/train_summary.py``; the val split is never read. Prints one JSON
row per variant (pooled held-out ROUGE-1/2/L F1 x100).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rouge_score import rouge_scorer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_summary as ts

from parallax.summary import FEATURES, Linear, SelectionModel

#: The shipped selection (``src/parallax/data/summary_model.json``, chosen by train CV).
SHIPPED: dict[str, Any] = {
    "term_weighting": "learned",
    "drop_loaded": False,
    "sentence_weight": 20.0,
    "length_power": 0.0,
    "status_first": False,
    "redundancy": 0.5,
}
DENSE = ("d_others", "d_story", "d_titles", "d_max", "d_mean", "r_others", "r_story", "r_max", "r_titles")
Scorer = Callable[[np.ndarray], np.ndarray]


def vectors(prepared: Sequence[ts.Prepared], cache: Path) -> list[np.ndarray]:
    """The MiniLM vector of every candidate, per story (each distinct text encoded once, cached)."""
    path = cache / "train-minilm-vectors.pkl"
    if path.is_file():
        with path.open("rb") as fh:
            stored = pickle.load(fh)
    else:
        from parallax.embed import get_embedder

        texts = sorted({c.wording.mention.text for p in prepared for c in p.candidates})
        stored = {"texts": texts, "V": get_embedder("minilm-numpy").encode(texts)}
        cache.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            pickle.dump(stored, fh)
    row = {t: i for i, t in enumerate(stored["texts"])}
    mat = np.asarray(stored["V"], dtype=np.float64)
    return [mat[[row[c.wording.mention.text] for c in p.candidates]] for p in prepared]


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n else v


def _rank(v: np.ndarray) -> np.ndarray:
    """1 for the story's highest value, 0 for its lowest."""
    if len(v) < 2:
        return np.zeros(len(v))
    order = np.argsort(np.argsort(-v, kind="stable"), kind="stable")
    return np.asarray(1.0 - order / (len(v) - 1))


def dense_features(p: ts.Prepared, vec: np.ndarray) -> np.ndarray:
    """Step 1: the :data:`DENSE` columns of one story's candidates."""
    arts = np.array([c.wording.mention.article for c in p.candidates])
    title = p.x[:, FEATURES.index("title")] > 0
    sims = vec @ vec.T
    total = vec.sum(axis=0)
    per = {a: vec[arts == a].sum(axis=0) for a in set(arts.tolist())}
    centre = _unit(total)
    cols = np.zeros((len(arts), 5))
    for i, art in enumerate(arts):
        other = arts != art
        cols[i, 1] = vec[i] @ centre
        if other.any():
            cols[i, 0] = vec[i] @ _unit(total - per[art])
            cols[i, 2] = sims[i, other & title].max() if (other & title).any() else 0.0
            cols[i, 3] = sims[i, other].max()
            cols[i, 4] = sims[i, other].mean()
    ranks = [_rank(cols[:, k]) for k in (0, 1, 3, 2)]
    return np.column_stack([cols, *ranks])


def ridge(x: np.ndarray, y: np.ndarray, *, alpha: float) -> Scorer:
    z, mean, scale = ts.standardise(x)
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    bias = float(y.mean())
    return lambda x2: np.asarray(((x2 - mean) / scale) @ w + bias)


def pairwise(stories: Sequence[tuple[np.ndarray, np.ndarray]], *, margin: float = 0.03) -> Scorer:
    """Step 3: logistic regression on feature differences of within-story pairs, no intercept."""
    x = np.vstack([s[0] for s in stories])
    _, mean, scale = ts.standardise(x)
    dx, dy = [], []
    for feats, y in stories:
        z = (feats - mean) / scale
        a, b = np.triu_indices(len(y), 1)
        keep = np.abs(y[a] - y[b]) > margin
        dx.append(z[a[keep]] - z[b[keep]])
        dy.append((y[a[keep]] > y[b[keep]]).astype(int))
    diff, label = np.vstack(dx), np.concatenate(dy)
    flip = np.random.default_rng(0).random(len(label)) < 0.5  # both classes, same pairs
    diff[flip] *= -1
    label[flip] = 1 - label[flip]
    w = LogisticRegression(C=0.1, fit_intercept=False, max_iter=2000).fit(diff, label).coef_[0]
    # on the scale of the ridge's salience (about 0.05 per standard deviation), so that the
    # shipped sentence weight keeps its meaning
    return lambda x2: np.asarray(((x2 - mean) / scale) @ w * 0.05)


def cross_validate(
    prepared: Sequence[ts.Prepared],
    features: Callable[[int, int], np.ndarray],
    learner: str,
    *,
    folds: int,
    scorer: Any,
    alpha: float = ts.ALPHA,
    weights: Sequence[float] = (20.0,),
) -> list[dict[str, float]]:
    """Pooled held-out ROUGE of the shipped selection with the sentence model fitted on
    ``features(story, fold)`` by ``learner`` (``ridge`` or ``pairwise``), per sentence weight."""
    n = len(prepared)
    pooled = {w: {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0} for w in weights}
    for k in range(folds):
        train = [i for i in range(n) if i % folds != k]
        held = [i for i in range(n) if i % folds == k]
        terms = ts.fit_terms(
            np.vstack([prepared[i].term_x for i in train]),
            np.concatenate([prepared[i].term_y for i in train]),
        )
        if learner == "pairwise":
            model = pairwise([(features(i, k), prepared[i].y) for i in train])
        else:
            x = np.vstack([features(i, k) for i in train])
            model = ridge(x, np.concatenate([prepared[i].y for i in train]), alpha=alpha)
        for w in weights:
            for i in held:
                # a sentence model whose score is ``model``'s: one feature, weight 1
                salience = model(features(i, k))
                p = prepared[i]
                fixed = ts.Prepared(p.target, p.candidates, _as_x(salience), p.y, p.terms, p.term_x, p.term_y)
                selection = SelectionModel(
                    sentences=_IDENTITY, terms=terms, **{**SHIPPED, "sentence_weight": w}
                )
                for m, v in ts.summary_scores([fixed], selection, scorer).items():
                    pooled[w][m] += v / n
    return [{"sentence_weight": w, **{m: round(v, 2) for m, v in r.items()}} for w, r in pooled.items()]


#: A sentence model that returns the first feature column (the precomputed salience).
_IDENTITY = Linear((FEATURES[0],), (1.0,), 0.0, (0.0,), (1.0,))


def _as_x(salience: np.ndarray) -> np.ndarray:
    x = np.zeros((len(salience), len(FEATURES)))
    x[:, 0] = salience
    return x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("neus", nargs="?", default="/work/shared/data/neus", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/p11c-cache"), help="vector cache folder")
    parser.add_argument(
        "--train-cache",
        type=Path,
        default=Path("/tmp/p11-cache/train-hashing-all-v2.pkl"),
        help="feature cache of scripts/train_summary.py (built there when missing)",
    )
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    # train_summary.py pickles its records as ``__main__.Prepared`` (it runs as a script)
    sys.modules["__main__"].Prepared = ts.Prepared  # type: ignore[attr-defined]
    prepared = ts.prepare(args.neus, embedder="hashing", limit=None, cache=args.train_cache)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    vec = vectors(prepared, args.cache)
    dense = [dense_features(p, v) for p, v in zip(prepared, vec, strict=True)]
    lexical = [p.x[:, [FEATURES.index(f) for f in ts.SENTENCE_FEATURES]] for p in prepared]
    # 2. principal components of the vectors, fitted on each fold's training stories
    pcs = []
    for k in range(args.folds):
        train = np.vstack([v for i, v in enumerate(vec) if i % args.folds != k])
        centre = train.mean(axis=0)
        pcs.append((centre, np.linalg.svd(train - centre, full_matrices=False)[2][:64].T))
    variants: list[tuple[str, Callable[[int, int], np.ndarray], str, float]] = [
        ("lexical (shipped)", lambda i, k: lexical[i], "ridge", ts.ALPHA),
        ("+ dense consensus", lambda i, k: np.hstack([lexical[i], dense[i]]), "ridge", ts.ALPHA),
        *(
            (f"+ dense consensus + vector, alpha {a:g}", lambda i, k: np.hstack([lexical[i], dense[i], vec[i]]),
             "ridge", a)
            for a in (300.0, 3000.0)
        ),
        ("+ dense consensus + 64 PCs", lambda i, k: np.hstack([lexical[i], dense[i], (vec[i] - pcs[k][0]) @ pcs[k][1]]),
         "ridge", ts.ALPHA),
        ("pairwise, lexical", lambda i, k: lexical[i], "pairwise", 0.0),
        ("pairwise, + dense consensus", lambda i, k: np.hstack([lexical[i], dense[i]]), "pairwise", 0.0),
    ]  # fmt: skip
    for name, feats, learner, alpha in variants:
        for row in cross_validate(
            prepared, feats, learner, folds=args.folds, scorer=scorer, alpha=alpha, weights=(20.0, 40.0)
        ):
            print(json.dumps({"variant": name, **row}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
