"""Embedders: the registry and the vector cache wrapper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from parallax.embed import CachedEmbedder, HashingEmbedder, NumpyBertEmbedder, content_hash, get_embedder
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
