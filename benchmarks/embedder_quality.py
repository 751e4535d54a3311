"""Sentence-pair quality of the embedders on MSRP: plain cosine, accuracy and ROC-AUC.

For each embedder named on the command line, every MSRP train pair is encoded and scored by
the cosine of its two vectors. Reported per embedder:

- ``roc_auc`` of the cosine against the paraphrase label (no threshold involved);
- ``accuracy_cv``: 5-fold cross-validated accuracy, the threshold chosen on four folds
  (the best accuracy there) and applied to the fifth, so no figure is tuned on the pairs it
  is reported on;
- ``cosine_to_reference``: mean and minimum cosine between this embedder's vectors and the
  first embedder's (the reference, normally ``minilm``: sentence-transformers).

Usage: ``python benchmarks/embedder_quality.py [--data FILE] [--out FILE] minilm minilm-numpy ...``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "msrp" / "msr_paraphrase_train.txt"


def read_msrp(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """The two sentence columns and the labels of an MSRP file."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8-sig").splitlines()[1:] if line]
    return [r[3] for r in rows], [r[4] for r in rows], np.array([int(r[0]) for r in rows])


def cv_accuracy(scores: np.ndarray, labels: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Accuracy with the threshold tuned on the other folds (module docstring)."""
    order = np.random.default_rng(seed).permutation(len(scores))
    correct = 0
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold)
        candidates = np.unique(scores[train])
        accs = [((scores[train] >= t) == labels[train]).mean() for t in candidates]
        threshold = candidates[int(np.argmax(accs))]
        correct += int(((scores[fold] >= threshold) == labels[fold]).sum())
    return correct / len(scores)


def main() -> None:
    from sklearn.metrics import roc_auc_score

    from parallax.embed import get_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("embedders", nargs="+")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    left, right, labels = read_msrp(args.data)
    texts = sorted(set(left) | set(right))
    index = {t: i for i, t in enumerate(texts)}
    li = np.array([index[t] for t in left])
    ri = np.array([index[t] for t in right])
    reference: np.ndarray | None = None
    results = []
    for name in args.embedders:
        emb = get_embedder(name)
        t0 = time.perf_counter()
        vecs = emb.encode(texts)
        seconds = time.perf_counter() - t0
        scores = (vecs[li] * vecs[ri]).sum(axis=1)
        row = {
            "embedder": name,
            "pairs": len(labels),
            "roc_auc": round(float(roc_auc_score(labels, scores)), 4),
            "accuracy_cv": round(cv_accuracy(scores, labels), 4),
            "encode_s": round(seconds, 2),
        }
        if reference is None:
            reference = vecs
        else:
            agree = (vecs * reference).sum(axis=1)
            row["cosine_to_reference"] = {
                "mean": round(float(agree.mean()), 5),
                "min": round(float(agree.min()), 5),
            }
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
