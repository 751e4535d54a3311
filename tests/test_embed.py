"""Embedders: the registry and the vector cache wrapper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from parallax.embed import (
    CachedEmbedder,
    HashingEmbedder,
    NumpyBertEmbedder,
    StaticEmbedder,
    content_hash,
    get_embedder,
)
from parallax.errors import ConfigError


class CountingEmbedder:
    """Wraps the hashing embedder and records what it was asked to encode."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = HashingEmbedder(dim=256)
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts)


class DictCache:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], np.ndarray] = {}

    def get_vectors(self, embedder: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        return {h: self.data[(embedder, h)] for h in hashes if (embedder, h) in self.data}

    def put_vectors(self, embedder: str, vectors: Mapping[str, np.ndarray]) -> None:
        for h, v in vectors.items():
            self.data[(embedder, h)] = v.copy()


def test_cached_embedder_encodes_only_new_sentences() -> None:
    inner, cache = CountingEmbedder(), DictCache()
    cached = CachedEmbedder(inner, cache=cache)
    first = ["The vote was 52 to 47.", "Protesters gathered downtown.", "The vote was 52 to 47."]
    out = cached.encode(first)
    assert np.allclose(out, inner.inner.encode(first))
    assert inner.calls == [first[:2] + first[2:]] or len(inner.calls) == 1
    more = ["Protesters gathered downtown.", "The mayor declined to comment."]
    out2 = cached.encode(more)
    assert inner.calls[-1] == ["The mayor declined to comment."]
    assert np.allclose(out2, inner.inner.encode(more))
    cached.encode(more)
    assert len(inner.calls) == 2  # everything cached now
    assert (cached.name, content_hash(more[1])) in cache.data
    assert cached.encode([]).shape[0] == 0


def test_registry_names() -> None:
    assert isinstance(get_embedder("minilm-numpy"), NumpyBertEmbedder)
    assert isinstance(get_embedder("hashing"), HashingEmbedder)


def test_unknown_model_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        get_embedder(str(tmp_path / "no-such-model"))


def _static_dir(path, vectors: np.ndarray, scales: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    """A static embedder directory with a word-level tokenizer over a five-word vocabulary."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "vote": 3, "passed": 4, "failed": 5, "senate": 6}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path.mkdir()
    tok.save(str(path / "tokenizer.json"))
    np.save(path / "vectors.npy", vectors)
    if scales is not None:
        np.save(path / "scales.npy", scales)
    return path


def test_static_embedder_is_the_normalised_mean_of_known_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    emb = get_embedder(str(_static_dir(tmp_path / "s", vectors)))
    assert isinstance(emb, StaticEmbedder)
    out = emb.encode(["The Senate vote passed", "vote", "nothing known here", "senate SENATE passed"])
    expected = vectors[[6, 3, 4]].mean(axis=0)  # "the" is unknown: dropped, not averaged in
    assert np.allclose(out[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(out[1], vectors[3] / np.linalg.norm(vectors[3]), atol=1e-6)
    assert np.all(out[2] == 0)  # no known token
    repeated = 2 * vectors[6] + vectors[4]  # a repeated token counts each time
    assert np.allclose(out[3], repeated / np.linalg.norm(repeated), atol=1e-6)
    assert emb.encode([]).shape == (0, 4)


def test_static_embedder_reads_int8_rows_with_scales(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors = np.random.default_rng(2).normal(size=(7, 8)).astype(np.float32)
    plain = StaticEmbedder(directory=_static_dir(tmp_path / "f", vectors))
    from parallax.bert import _quantise_rows

    q, scale = _quantise_rows(vectors)
    quantised = StaticEmbedder(directory=_static_dir(tmp_path / "q", q, scale))
    texts = ["senate vote failed", "passed"]
    assert (plain.encode(texts) * quantised.encode(texts)).sum(axis=1).min() > 0.999


def test_static_embedder_bad_directory_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="not a static embedder directory"):
        StaticEmbedder(directory=tmp_path)
    bad = _static_dir(tmp_path / "bad", np.zeros((7, 4), dtype=np.int8), np.ones(3, dtype=np.float32))
    with pytest.raises(ConfigError, match="do not match"):
        StaticEmbedder(directory=bad)


def test_shipped_static_embedder_ranks_a_paraphrase_above_an_unrelated_sentence() -> None:
    emb = get_embedder("minilm-static")
    assert isinstance(emb, StaticEmbedder) and emb.dim == 256
    a, b, c = emb.encode(
        [
            "The senator voted against the bill on Tuesday.",
            "On Tuesday the bill was opposed by the senator.",
            "Heavy rain flooded the coastal village overnight.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2
