"""Build ``src/parallax/data/df_prior.npz``: background document frequencies for story clustering.

The online clusterer learns document frequencies from what it has seen; on a small or young
corpus that is too little to tell a rare name from a word every article uses, so the first
articles of a corpus look more alike than they are. This script counts, over a background
corpus of news text that is *not* used to evaluate clustering, in how many documents each
hashed clustering feature occurs (:func:`parallax.features.extract_features`: stemmed body
terms, entities, title terms, numbers), and keeps the features seen in at least ``--min-df``
documents.

Background corpus (from ``../shared``, none of it a clustering evaluation file):
* PolNeAR article texts (train and dev, 924 US election articles from 7 outlets, 2016);
* NeuS training roundups: each outlet's headline and lead (about 7,300 short documents, 2012-2021).
Both come from academic releases without an explicit licence; only these counts are shipped
(derived term statistics, as the project's data notes allow).

Usage: ``python scripts/build_df_prior.py [--shared ../shared] [--out src/parallax/data/df_prior.npz]``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from parallax.features import HASH_BITS, ClusterDoc, extract_features

ROOT = Path(__file__).resolve().parents[1]
_NEUS_PART = re.compile(r"TITLE=>\s*(.*?)\s*ARTICLE=>\s*(.*)", re.S)


def background(shared: Path) -> Iterator[ClusterDoc]:
    n = 0
    for path in sorted((shared / "data" / "polnear").glob("*/text/*.txt")):
        n += 1
        yield ClusterDoc(id=f"polnear-{n}", text=path.read_text(encoding="utf-8", errors="replace"))
    for line in (shared / "data" / "neus" / "train.source").read_text(encoding="utf-8").splitlines():
        for part in line.split("[SEP]"):
            match = _NEUS_PART.search(part)
            if match:
                n += 1
                yield ClusterDoc(id=f"neus-{n}", text=match.group(2), title=match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "parallax" / "data" / "df_prior.npz")
    parser.add_argument("--min-df", type=int, default=2)
    args = parser.parse_args()
    df = np.zeros(1 << HASH_BITS, dtype=np.int64)
    docs = 0
    for doc in background(args.shared):
        f = extract_features(doc)
        keys = set(f.term_keys.tolist()) | set(f.entities) | set(f.title_terms) | set(f.numbers)
        if keys:
            df[np.fromiter(keys, dtype=np.int64, count=len(keys))] += 1
        docs += 1
    keep = np.flatnonzero(df >= args.min_df)
    np.savez_compressed(
        args.out, keys=keep.astype(np.int32), counts=df[keep].astype(np.uint16), docs=np.array([docs])
    )
    print(f"{docs} background documents, {len(keep)} features with df >= {args.min_df} -> {args.out}")


if __name__ == "__main__":
    main()
