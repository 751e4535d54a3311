"""How often the shipped pair model's low scores are non-equivalent pairs on MSRP train.

``parallax.align.GROUP_FLOOR`` keeps two sentences that score below it with each other out of one
fact (unless one contains the other). This prints, for candidate floors, the share of MSRP train
pairs scoring below the floor, how many of those are labelled not equivalent, and the share of
equivalent pairs that fall below it::

    python scripts/align_group_floor.py ../shared/data/msrp --cache-dir /tmp/align-floor
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from parallax.align import default_model
from parallax.evaluation.align import load_msrp, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("msrp", type=Path)
    parser.add_argument("--split", default="train")
    parser.add_argument("--embedder", default="minilm-numpy")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    data = prepare(load_msrp(args.msrp, args.split), embedder=args.embedder, cache_dir=args.cache_dir)
    scores = default_model().probability(data.x)
    labels = data.labels
    for floor in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
        below = scores < floor
        row = {
            "floor": floor,
            "share_below": round(float(below.mean()), 4),
            "not_equivalent_below": round(float(1 - labels[below].mean()), 4) if below.any() else None,
            "equivalent_lost": round(float(labels[below].sum() / labels.sum()), 4),
        }
        print(json.dumps(row))


if __name__ == "__main__":
    main()
