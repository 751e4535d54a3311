"""Sanity check of the learned pair score on ECB+ (shared data): does ``align()`` link the right articles?

The pair score and its threshold are learned on MSRP train (``parallax eval align``); this script
checks, on a different corpus, that the pipeline's ``align()`` with that score links sentences of
articles about the *same* event and rarely links articles about a *different* event of the same
kind. ECB+ gives, per topic, articles about two different events of the same kind (two
celebrities entering rehab, two earthquakes), so:

* same-event pairs: many of their sentences report the same facts (``same``, want high);
* same-topic, different-event pairs: similar wording and the same kinds of entities, but no
  shared fact, so every link between them is a false alignment (``diff``, want low).

For each labelled article pair the real ``align()`` runs on the two articles as a story, and the
share of sentences that end up in a two-article fact is recorded, at the shipped threshold and at
a few others (``--thresholds``) for comparison. Prints JSON. Embeddings of every sentence and
piece are computed once and served from memory.

    python benchmarks/align_tune.py [--pairs-per-topic 2] [--embedder minilm]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from parallax.align import align, default_model, piece_features, sentence_features
from parallax.embed import get_embedder
from parallax.nlp import analyze
from parallax.records import Article

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clustering" / "ecbplus-topics-1-35.jsonl"


class MemoEmbedder:
    """Serves vectors computed once for every text the runs will ask for."""

    def __init__(self, texts: Sequence[str], name: str) -> None:
        unique = sorted(set(texts))
        vecs = get_embedder(name).encode(unique)
        self._vec = dict(zip(unique, vecs, strict=True))
        self.name = name
        self._dim = vecs.shape[1] if len(unique) else 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.vstack([self._vec[t] for t in texts])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--pairs-per-topic", type=int, default=2)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--thresholds", default="0.4,0.5,0.6,0.7")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if not args.data.exists():
        sys.exit(f"ECB+ data not found at {args.data}")
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(args.seed)
    by_topic: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_topic[str(r["gold_topic"])][str(r["gold_story"])].append(r)
    pairs: list[tuple[str, str, bool]] = []
    for topic in sorted(by_topic):
        events = [by_topic[topic][e] for e in sorted(by_topic[topic])]
        same = [(a["id"], b["id"]) for ev in events for a, b in itertools.combinations(ev, 2)]
        diff = [(a["id"], b["id"]) for e1, e2 in itertools.combinations(events, 2) for a in e1 for b in e2]
        k = args.pairs_per_topic
        pairs += [(a, b, True) for a, b in rng.sample(same, min(k, len(same)))]
        pairs += [(a, b, False) for a, b in rng.sample(diff, min(k, len(diff)))]
    text_of = {r["id"]: r["text"] for r in rows}
    ids = sorted({i for a, b, _ in pairs for i in (a, b)})
    arts = [Article(id=i, source_path=i, text=text_of[i], outlet=i) for i in ids]
    analyzed = {a.id: a for a in analyze(arts)}
    texts = [f.text for a in analyzed.values() for f in sentence_features([a])]
    texts += [f.text for a in analyzed.values() for f in piece_features([a])[0]]
    embedder = MemoEmbedder(texts, args.embedder)
    shipped = default_model().threshold
    thresholds = sorted({shipped, *(float(t) for t in args.thresholds.split(","))})
    results = []
    for t in thresholds:
        rate: dict[bool, list[float]] = {True: [], False: []}
        for a, b, same in pairs:
            story = [analyzed[a], analyzed[b]]
            n = sum(len(x.sentences) for x in story)
            facts = align(story, embedder=embedder, threshold=t).facts
            linked = {(m.article, m.sentence) for f in facts if len(f.articles) > 1 for m in f.mentions}
            rate[same].append(len(linked) / n if n else 0.0)
        s, d = float(np.mean(rate[True])), float(np.mean(rate[False]))
        results.append(
            {"threshold": round(t, 4), "same": round(s, 4), "diff": round(d, 4), "j": round(s - d, 4)}
        )
    print(
        json.dumps(
            {
                "pairs": len(pairs),
                "embedder": args.embedder,
                "shipped_threshold": round(shipped, 4),
                "results": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
