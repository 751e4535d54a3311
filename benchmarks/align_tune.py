"""Tune the aligner's weights and threshold on ECB+ (shared data), not on the example story.

ECB+ gives, per topic, articles about two *different* events of the same kind (two celebrities
entering rehab, two earthquakes). That yields labelled article pairs:

* same-event pairs: many of their sentences report the same facts, so alignment should link them;
* same-topic, different-event pairs: similar wording and the same kinds of entities, but no
  shared fact, so every link between them is a false alignment.

For each configuration (weights, threshold) the script runs the real grouping
(:func:`parallax.align.group_sentences`) on each pair as a two-article story and reports the share
of alignable sentences that end up in a two-article fact: ``same`` (want high), ``diff`` (want
low) and ``j = same - diff``. It picks the configuration with the largest ``j`` among those with
``diff <= --max-false`` and prints JSON.

    python benchmarks/align_tune.py [--pairs-per-topic 6] [--embedder minilm] [--max-false 0.05]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from parallax.align import group_sentences, sentence_features, similarity_matrix
from parallax.embed import get_embedder
from parallax.nlp import analyze
from parallax.records import Article

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clustering" / "ecbplus-topics-1-35.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--pairs-per-topic", type=int, default=6)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--max-false", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if not args.data.exists():
        sys.exit(f"ECB+ data not found at {args.data}")
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(args.seed)
    by_topic: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_topic[str(r["gold_topic"])][str(r["gold_story"])].append(r)
    pairs: list[tuple[dict[str, str], dict[str, str], bool]] = []
    for topic in sorted(by_topic):
        events = [by_topic[topic][e] for e in sorted(by_topic[topic])]
        same = [p for ev in events for p in itertools.combinations(ev, 2)]
        diff = [(a, b) for e1, e2 in itertools.combinations(events, 2) for a in e1 for b in e2]
        k = args.pairs_per_topic
        pairs += [(a, b, True) for a, b in rng.sample(same, min(k, len(same)))]
        pairs += [(a, b, False) for a, b in rng.sample(diff, min(k, len(diff)))]
    needed = {r["id"]: r for a, b, _ in pairs for r in (a, b)}
    ids = sorted(needed)
    arts = [Article(id=i, source_path=i, text=needed[i]["text"], outlet="ecb") for i in ids]
    analyzed = {a.id: a for a in analyze(arts)}
    feats = {i: sentence_features([analyzed[i]]) for i in ids}
    embedder = get_embedder(args.embedder)
    flat = [f for i in ids for f in feats[i]]
    vecs = embedder.encode([f.text for f in flat])
    offset, vec_of = 0, {}
    for i in ids:
        vec_of[i] = vecs[offset : offset + len(feats[i])]
        offset += len(feats[i])
    results = []
    grid_w = [
        (0.6, 0.3, 0.1),
        (0.7, 0.2, 0.1),
        (0.8, 0.1, 0.1),
        (0.5, 0.4, 0.1),
        (0.6, 0.4, 0.0),
        (1.0, 0.0, 0.0),
    ]
    thresholds = [round(t, 2) for t in np.arange(0.40, 0.86, 0.02)]
    prepared = []
    for a, b, same in pairs:
        fa = [f.__class__(**{**f.__dict__, "article": "a", "article_pos": 0}) for f in feats[a["id"]]]
        fb = [f.__class__(**{**f.__dict__, "article": "b", "article_pos": 1}) for f in feats[b["id"]]]
        prepared.append((fa + fb, np.vstack([vec_of[a["id"]], vec_of[b["id"]]]), same))
    for wd, wl, we in grid_w:
        sims = [
            (fs, similarity_matrix(fs, v, w_dense=wd, w_lexical=wl, w_entity=we), same)
            for fs, v, same in prepared
        ]
        for t in thresholds:
            rate: dict[bool, list[float]] = {True: [], False: []}
            for fs, sim, same in sims:
                n_ok = sum(f.alignable for f in fs)
                if not n_ok:
                    continue
                groups = group_sentences(fs, sim, threshold=t)
                linked = sum(len(g) for g in groups if len(g) > 1)
                rate[same].append(linked / n_ok)
            s, d = float(np.mean(rate[True])), float(np.mean(rate[False]))
            results.append(
                {
                    "w_dense": wd,
                    "w_lexical": wl,
                    "w_entity": we,
                    "threshold": t,
                    "same": round(s, 4),
                    "diff": round(d, 4),
                    "j": round(s - d, 4),
                }
            )
    ok = [r for r in results if r["diff"] <= args.max_false] or results
    best = max(ok, key=lambda r: r["j"])
    top = sorted(ok, key=lambda r: -r["j"])[:8]
    print(
        json.dumps(
            {
                "pairs": len(pairs),
                "embedder": args.embedder,
                "max_false": args.max_false,
                "best": best,
                "top": top,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
