"""Do "distinctive particulars" tell two look-alike events apart? Join signals and sweeps, per file.

ECB+ pairs, in each theme, two events told in the same words (two DUI arrests of different
players, two Microsoft emergency patches); its errors are stories holding both. This script
measures, on each labelled file, whether the signals proposed to separate such events would
do so without costing the other corpora, so that a negative result is reproducible.

1. ``joins``: every article the default clusterer puts into an existing story is a *join*.
   A join is *cross-event* when the article's gold story has no article in that story yet
   (the first wrong article of a mixed story), *same-event* otherwise. For each kind: the
   join score and three particulars of the article against the story's centroid, as
   quantiles (5/25/50/75/95%):

   - ``entity_coverage``: IDF- and rank-weighted share of the article's three most salient
     entities present in the story;
   - ``number_coverage``: share of the article's numbers present in the story (articles
     without numbers left out);
   - ``year_mismatch``: how many joins have years (1900-2099) on both sides and none shared.

   A signal helps only if cross-event joins sit apart from same-event ones *in every file*.
2. ``sweep``: BCubed F1 of each file with one tunable moved from the defaults: a penalty for
   missing particulars (the join score times ``1 - p * (1 - entity_coverage)``), the number and
   entity block weights, and ``split_ratio`` (which only stories of 8 or more articles reach:
   BASIL's and NewsWCL50's never do). A change that lowers every file cannot be chosen by
   leave-one-corpus-out cross-validation, whichever file is held out.
3. ``second_pass``: a split of finished stories of 8 or more articles when their articles'
   full vectors (every block, final document frequencies; not the truncated member records
   the online check uses) divide cleanly: spherical 2-means, then the mean similarity between
   the two groups over the mean within the less coherent one. For each cut-off ``r``: how many
   mixed (more than one gold story) and pure stories fall at or below it, and the F1 if those
   are split. A signal is clean if mixed stories fall below every pure one.
4. ``--cv``: leave-one-corpus-out cross-validation (``parallax eval clustering --cv``) with
   :data:`CV_EXTRA` added to its grid (defaults first, so a tie keeps them): the held-out
   figures those tunables would give if cross-validation could choose them.

Usage: ``python benchmarks/cluster_signals.py FILE.jsonl [FILE.jsonl ...] [--out FILE]``
(the shared files: see docs/evaluation.md). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parallax.cluster import StoryClusterer, order_for_clustering, place_undated
from parallax.evaluation.clustering import load_jsonl, score
from parallax.features import NUMBER, DocFeatures, extract_features, feature_hash

#: The article's most salient entities the particulars penalty and ``entity_coverage`` look at.
TOP_ENTITIES = 3
YEARS = frozenset(feature_hash(NUMBER, str(year)) for year in range(1900, 2100))
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SWEEP: dict[str, tuple[float, ...]] = {
    "particular_penalty": (0.3, 0.5, 0.7),
    "number_weight": (1.2, 1.6),
    "entity_weight": (0.8, 1.6),
    "split_ratio": (0.6, 0.7),
}


class ProbeClusterer(StoryClusterer):
    """The default clusterer, recording the particulars of each join (and, with
    ``particular_penalty``, scoring a story lower when the article's salient entities are
    missing from it). A measuring instrument: it reads the clusterer's internals."""

    def __init__(self, gold: dict[str, str], *, particular_penalty: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gold = gold
        self.penalty = particular_penalty
        self.joins: list[dict[str, Any]] = []
        self._current: DocFeatures | None = None

    def add(self, features: DocFeatures) -> Any:
        self._current = features
        return super().add(features)

    def _holds(self, story_id: str, gold: str) -> bool:
        """Whether ``story_id`` already holds an article of gold story ``gold`` (splits included)."""
        return any(
            self.gold[doc] == gold and self._resolve(sid) == story_id for doc, sid in self._doc_story.items()
        )

    def _coverage(self, f: DocFeatures, story_keys: np.ndarray) -> float:
        keys = np.asarray(f.entities[:TOP_ENTITIES], dtype=np.int64)
        if not len(keys):
            return 1.0
        weights = self._idf(keys) / (1.0 + self._entity_decay * np.arange(len(keys)))
        return float(weights[np.isin(keys, story_keys)].sum() / weights.sum())

    def _score(self, vec: Any, candidates: list[str], day: int | None) -> list[tuple[float, str, int]]:
        out = super()._score(vec, candidates, day)
        f = self._current
        if f is None or not out:
            return out
        if self.penalty:
            out = [
                (s * (1.0 - self.penalty * (1.0 - self._coverage(f, self._active[sid].vec_keys))), sid, seq)
                for s, sid, seq in out
            ]
            out.sort(key=lambda t: (-t[0], t[2]))
        best, sid, _ = out[0]
        if best >= self.threshold:
            story = self._active[sid]
            numbers = np.asarray(f.numbers, dtype=np.int64)
            years_a = YEARS.intersection(f.numbers)
            years_s = YEARS.intersection(story.vec_keys.tolist())
            self.joins.append(
                {
                    "cross_event": not self._holds(sid, self.gold[f.id]),
                    "score": best,
                    "entity_coverage": self._coverage(f, story.vec_keys),
                    "number_coverage": float(np.isin(numbers, story.vec_keys).mean())
                    if len(numbers)
                    else None,
                    "year_mismatch": bool(years_a and years_s and not years_a & years_s),
                }
            )
        return out


def _quantiles(values: Sequence[float]) -> list[float]:
    ordered = sorted(values)
    if not ordered:
        return []
    return [round(ordered[math.floor(q * (len(ordered) - 1))], 3) for q in QUANTILES]


def _features(path: Path) -> tuple[list[DocFeatures], dict[str, str]]:
    items = load_jsonl(path)
    window = StoryClusterer().window_days
    docs = order_for_clustering([i.doc for i in items])
    return place_undated([extract_features(d) for d in docs], window_days=window), {
        i.doc.id: i.gold for i in items
    }


def joins(feats: list[DocFeatures], gold: dict[str, str]) -> dict[str, Any]:
    """Step 1: the particulars of cross-event and same-event joins under the defaults."""
    probe = ProbeClusterer(gold)
    probe.add_many(feats)
    out: dict[str, Any] = {"bcubed_f1": score(probe.assignments(), gold)["bcubed_f1"]}
    for kind, cross in (("cross_event", True), ("same_event", False)):
        rows = [j for j in probe.joins if j["cross_event"] is cross]
        out[kind] = {
            "joins": len(rows),
            "score": _quantiles([j["score"] for j in rows]),
            "entity_coverage": _quantiles([j["entity_coverage"] for j in rows]),
            "number_coverage": _quantiles(
                [j["number_coverage"] for j in rows if j["number_coverage"] is not None]
            ),
            "year_mismatch": sum(j["year_mismatch"] for j in rows),
        }
    return out


def sweep(feats: list[DocFeatures], gold: dict[str, str]) -> dict[str, float]:
    """Step 2: BCubed F1 with one tunable moved from its default."""
    out = {}
    for name, values in SWEEP.items():
        for value in values:
            probe = ProbeClusterer(gold, **{name: value})
            probe.add_many(feats)
            out[f"{name}={value}"] = score(probe.assignments(), gold)["bcubed_f1"]
    return out


#: Tunables added to the cross-validation grid by ``--cv`` (the default first in each).
CV_EXTRA: dict[str, tuple[float, ...]] = {
    "number_weight": (0.8, 1.2),
    "entity_weight": (1.2, 0.8),
    "split_ratio": (0.5, 0.6),
}


def cross_validated(paths: Sequence[Path]) -> dict[str, Any]:
    """Step 4: held-out BCubed F1 with :data:`CV_EXTRA` in the grid, and the settings chosen."""
    from parallax.evaluation import clustering

    saved = clustering.CV_GRID
    clustering.CV_GRID = {**saved, **CV_EXTRA}
    try:
        result = clustering.cross_validate(list(paths))
    finally:
        clustering.CV_GRID = saved
    return {
        "held_out": {
            name: {"bcubed_f1": v["bcubed_f1"], "peer": v["peer"]["bcubed_f1"], "setting": v["setting"]}
            for name, v in result["held_out"].items()
        },
        "mean_held_out_bcubed_f1": result["mean_held_out_bcubed_f1"],
        "setting_on_all_files": result["setting_on_all_files"],
        "grid_size": result["grid_size"],
    }


SECOND_PASS_CUTS = (0.5, 0.55, 0.6, 0.65, 0.7)


def _two_means(x: Any) -> np.ndarray | None:
    """Spherical 2-means over the rows of sparse ``x`` (seeded as the online split check is)."""
    a = int(np.argmin(x @ np.asarray(x.sum(axis=0)).ravel()))
    to_a = (x @ x[a].T).toarray().ravel()
    b = int(np.argmin(to_a))
    group: np.ndarray = (x @ x[b].T).toarray().ravel() > to_a
    for _ in range(20):
        if group.all() or not group.any():
            return None
        sum_a, sum_b = np.asarray(x[~group].sum(axis=0)).ravel(), np.asarray(x[group].sum(axis=0)).ravel()
        moved = (x @ sum_b) * math.sqrt(sum_a @ sum_a) > (x @ sum_a) * math.sqrt(sum_b @ sum_b)
        if np.array_equal(moved, group):
            break
        group = moved
    return group


def second_pass(feats: list[DocFeatures], gold: dict[str, str]) -> dict[str, Any]:
    """Step 3: would a split of finished stories by their full vectors separate mixed ones?"""
    from scipy import sparse

    clusterer = StoryClusterer()
    clusterer.add_many(feats)
    pred = clusterer.assignments()
    vectors = {f.id: clusterer._vector(f) for f in feats}
    stories: dict[str, list[str]] = {}
    for doc, sid in pred.items():
        stories.setdefault(sid, []).append(doc)
    found = []
    for sid, ids in stories.items():
        if len(ids) < 8:
            continue
        rows = np.repeat(np.arange(len(ids)), [len(vectors[d][0]) for d in ids])
        x = sparse.csr_matrix(
            (
                np.concatenate([vectors[d][1] for d in ids]),
                (rows, np.concatenate([vectors[d][0] for d in ids])),
            ),
            shape=(len(ids), int(clusterer._dense.shape[0])),
        )
        group = _two_means(x)
        if group is None or min(int(group.sum()), int((~group).sum())) < max(3, math.ceil(0.2 * len(ids))):
            continue
        sims = (x @ x.T).toarray()
        within = [
            (sims[np.ix_(g, g)].sum() - np.trace(sims[np.ix_(g, g)])) / (g.sum() * (g.sum() - 1))
            for g in (group, ~group)
        ]
        ratio = float(sims[np.ix_(group, ~group)].mean() / min(within))
        found.append((ratio, len({gold[d] for d in ids}) > 1, sid, ids, group))
    out: dict[str, Any] = {
        "stories_checked": sum(len(ids) >= 8 for ids in stories.values()),
        "ratios_mixed": sorted(round(r, 3) for r, mixed, *_ in found if mixed),
        "ratios_pure": sorted(round(r, 3) for r, mixed, *_ in found if not mixed),
    }
    for cut in SECOND_PASS_CUTS:
        split = dict(pred)
        for ratio, _, sid, ids, group in found:
            if ratio <= cut:
                split.update({d: f"{sid}/b" for d, g in zip(ids, group.tolist(), strict=True) if g})
        out[f"bcubed_f1_split_at_{cut}"] = score(split, gold)["bcubed_f1"]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--cv", action="store_true", help="also cross-validate with CV_EXTRA in the grid")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    for path in args.files:
        feats, gold = _features(path)
        result[path.name] = {
            "joins": joins(feats, gold),
            "sweep": sweep(feats, gold),
            "second_pass": second_pass(feats, gold),
        }
    if args.cv:
        result["cross_validated"] = cross_validated(args.files)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
