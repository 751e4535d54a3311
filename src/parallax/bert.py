"""A BERT sentence encoder in plain numpy: MiniLM sentence vectors without torch.

Why: importing torch and sentence-transformers costs seconds in every new process, several
times what the analysis of a story takes. A six-layer BERT such as all-MiniLM-L6-v2 is a
handful of matrix products per layer, which numpy's BLAS runs as fast as torch on a CPU.

A *model directory* holds two files:

* ``tokenizer.json`` - the Hugging Face ``tokenizers`` file of the model (WordPiece);
* ``weights.npz`` - the weights converted once by :func:`convert_sentence_transformer` from a
  sentence-transformers directory (``model.safetensors`` + ``config.json``), with the linear
  layers and word embeddings quantised to int8 with one scale per output row (4x smaller,
  sentence vectors within about 0.01 cosine of the float32 model's), everything else float16,
  plus ``config`` (layers, heads, layer-norm epsilon, maximum length) as a JSON string.

and may hold a third, ``encoder.onnx``: the same six transformer layers as an int8 ONNX graph
(``scripts/build_onnx.py``), which :class:`OnnxBertEncoder` runs with onnxruntime.

The package ships such a directory for all-MiniLM-L6-v2 (Apache-2.0, see ``NOTICE`` in it).
:class:`BertEncoder` runs the forward pass of ``transformers.BertModel`` followed by the
sentence-transformers mean pooling (the embedder normalises); :class:`OnnxBertEncoder` runs the
same embedding layer and pooling around the int8 graph.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parallax.errors import ConfigError

log = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.npz"
TOKENIZER_FILE = "tokenizer.json"
ONNX_FILE = "encoder.onnx"
_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file (8-byte header size, JSON header, raw data)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    out: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(meta["dtype"])
        if dtype is None:
            raise ConfigError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        start, end = meta["data_offsets"]
        out[name] = np.frombuffer(raw[base + start : base + end], dtype=dtype).reshape(meta["shape"])
    return out


def _quantise_rows(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantisation with one float32 scale per row."""
    scale = np.abs(mat).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(mat / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def convert_sentence_transformer(source: str | Path, target: str | Path, *, quantise: bool = True) -> Path:
    """Convert a BERT sentence-transformers directory into a :class:`BertEncoder` directory.

    1. read ``config.json``, ``sentence_bert_config.json`` and ``model.safetensors``;
    2. store 2-D linear weights and the word embeddings as int8 rows with a scale each (or
       float16 when ``quantise`` is false), all other tensors as float16;
    3. copy ``tokenizer.json`` beside the weights.
    """
    src, dst = Path(source), Path(target)
    # 1. read
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    st_config_path = src / "sentence_bert_config.json"
    st_config = json.loads(st_config_path.read_text(encoding="utf-8")) if st_config_path.is_file() else {}
    tensors = read_safetensors(src / "model.safetensors")
    prefix = "bert." if any(k.startswith("bert.") for k in tensors) else ""
    # 2. quantise
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if not name.startswith(prefix) or name.endswith("position_ids") or "pooler" in name:
            continue
        key = name[len(prefix) :]
        if quantise and value.ndim == 2 and (key.endswith(".weight") and "position" not in key):
            if "token_type" in key:
                arrays[key] = value.astype(np.float16)
                continue
            q, scale = _quantise_rows(value.astype(np.float32))
            arrays[key + ".q8"] = q
            arrays[key + ".scale"] = scale
        else:
            arrays[key] = value.astype(np.float16)
    meta = {
        "layers": int(config["num_hidden_layers"]),
        "heads": int(config["num_attention_heads"]),
        "eps": float(config.get("layer_norm_eps", 1e-12)),
        "max_length": int(st_config.get("max_seq_length", config.get("max_position_embeddings", 512))),
    }
    dst.mkdir(parents=True, exist_ok=True)
    arrays["config"] = np.array(json.dumps(meta))
    np.savez(dst / WEIGHTS_FILE, **arrays)  # type: ignore[arg-type]
    # 3. tokenizer
    (dst / TOKENIZER_FILE).write_bytes((src / TOKENIZER_FILE).read_bytes())
    return dst


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7), in place on
    two buffers: it runs on every hidden unit of every token, so temporaries cost."""
    a = np.abs(x)
    t = a * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for coef in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coef)
        poly *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(1.0, poly, out=poly)
    out: np.ndarray = np.copysign(poly, x, out=poly)
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * x * (1.0 + _erf(x * np.float32(1.0 / math.sqrt(2.0))))
    return out


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of each row's unpadded token states (sentence-transformers' pooling)."""
    weights = mask.astype(np.float32)[:, :, None]
    pooled: np.ndarray = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: np.ndarray = centred / np.sqrt(var + eps) * weight + bias
    return out


class _Layer:
    """One transformer layer's weights, float32, transposed for ``x @ w``."""

    def __init__(self, get: Any, i: int) -> None:
        p = f"encoder.layer.{i}."
        self.qkv_w = np.concatenate(
            [get(p + f"attention.self.{n}.weight").T for n in ("query", "key", "value")], axis=1
        )
        self.qkv_b = np.concatenate([get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        self.out_w = get(p + "attention.output.dense.weight").T.copy()
        self.out_b = get(p + "attention.output.dense.bias")
        self.ln1_w = get(p + "attention.output.LayerNorm.weight")
        self.ln1_b = get(p + "attention.output.LayerNorm.bias")
        self.up_w = get(p + "intermediate.dense.weight").T.copy()
        self.up_b = get(p + "intermediate.dense.bias")
        self.down_w = get(p + "output.dense.weight").T.copy()
        self.down_b = get(p + "output.dense.bias")
        self.ln2_w = get(p + "output.LayerNorm.weight")
        self.ln2_b = get(p + "output.LayerNorm.bias")


class BertEncoder:
    """Sentence vectors from a converted BERT model directory (module docstring).

    ``max_tokens`` bounds the padded tokens of one batch: sentences are sorted by length and
    cut into batches, so short sentences are not padded to the longest one of the input (0:
    one sentence per batch).
    """

    def __init__(self, directory: str | Path, *, max_tokens: int = 4096) -> None:
        path = Path(directory)
        weights_path, tok_path = path / WEIGHTS_FILE, path / TOKENIZER_FILE
        if not weights_path.is_file() or not tok_path.is_file():
            raise ConfigError(
                f"{path}: not a converted embedder directory (needs {WEIGHTS_FILE} and {TOKENIZER_FILE}; "
                "make one with parallax.bert.convert_sentence_transformer)"
            )
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:  # a dependency of the package, so only a broken install lacks it
            raise ConfigError("the numpy MiniLM embedder needs the 'tokenizers' package") from exc
        try:
            data = np.load(weights_path)
            meta = json.loads(str(data["config"]))
            self._tokenizer = Tokenizer.from_file(str(tok_path))
        except (OSError, ValueError, KeyError, Exception) as exc:
            raise ConfigError(f"{path}: cannot load the embedder: {exc}") from exc
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=int(meta["max_length"]))
        files = set(data.files)

        def get(name: str) -> np.ndarray:
            if name in files:
                return np.asarray(data[name], dtype=np.float32)
            out: np.ndarray = data[name + ".q8"].astype(np.float32) * data[name + ".scale"][:, None]
            return out

        self.heads = int(meta["heads"])
        self.eps = float(meta["eps"])
        self.max_tokens = max_tokens
        word = "embeddings.word_embeddings.weight"
        if word + ".q8" in files:
            self._word_q: np.ndarray | None = data[word + ".q8"]
            self._word_scale = np.asarray(data[word + ".scale"], dtype=np.float32)
            self._word = np.zeros((0, 0), dtype=np.float32)
        else:
            self._word_q = None
            self._word = get(word)
            self._word_scale = np.zeros(0, dtype=np.float32)
        self._pos = get("embeddings.position_embeddings.weight")
        self._type0 = get("embeddings.token_type_embeddings.weight")[0]
        self._ln_w = get("embeddings.LayerNorm.weight")
        self._ln_b = get("embeddings.LayerNorm.bias")
        self.dim = int(self._pos.shape[1])
        self._load_layers(path, get, int(meta["layers"]))

    def _load_layers(self, path: Path, get: Any, layers: int) -> None:
        """The transformer layers, dequantised to float32 (only the embedding layer is shared
        with :class:`OnnxBertEncoder`, which runs the layers from its own file)."""
        self._layers = [_Layer(get, i) for i in range(layers)]

    def _embed_tokens(self, ids: np.ndarray) -> np.ndarray:
        if self._word_q is not None:
            words: np.ndarray = self._word_q[ids].astype(np.float32) * self._word_scale[ids][..., None]
        else:
            words = self._word[ids]
        x = words + self._pos[: ids.shape[1]][None, :, :] + self._type0
        return _layer_norm(x, self._ln_w, self._ln_b, self.eps)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled last hidden states of one padded batch ``(b, t)``."""
        b, t = ids.shape
        h = self.heads
        x = self._embed_tokens(ids).reshape(b * t, -1)
        d = x.shape[1]
        hd = d // h
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(hd))
        for layer in self._layers:
            qkv = x @ layer.qkv_w + layer.qkv_b
            qkv = qkv.reshape(b, t, 3, h, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * t, d)
            x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_w, layer.ln1_b, self.eps)
            up = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(up @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b, self.eps)
        return _mean_pool(x.reshape(b, t, d), mask)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, dim)`` float32 sentence vectors (mean pooled, not yet normalised)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            # the batch grows while its padded size stays within max_tokens
            end = start + 1
            while end < len(order) and (end - start + 1) * len(ids[order[end]]) <= self.max_tokens:
                end += 1
            chunk = order[start:end]
            width = len(ids[chunk[-1]])
            batch = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=bool)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = True
            out[chunk] = self._forward(batch, mask)
            start = end
        return out


class OnnxBertEncoder(BertEncoder):
    """The same encoder with its transformer layers run by onnxruntime from an int8 ONNX graph.

    Why: the layers are a few large matrix products per token; onnxruntime's dynamically
    quantised MatMul (int8 weights per output channel, uint8 activations) uses the CPU's integer
    dot-product instructions (VNNI) and takes about a fifth of the CPU time of numpy's float32
    BLAS on the same sentences (docs/benchmarks.md). The graph (``encoder.onnx``, made by
    ``scripts/build_onnx.py`` from the same ``weights.npz``) holds only the six layers: the
    embedding layer (an int8 table lookup) and the mean pooling stay in numpy, shared with
    :class:`BertEncoder`, so the word table is not shipped twice.

    Each sentence is its own batch (``max_tokens=0``): the activations are quantised with one
    range per call, so in a shared batch a sentence's vector would depend on its neighbours;
    alone, it is a function of the sentence only (cached vectors equal fresh ones), its int8
    range is its own (closer to the float32 vectors), and on this CPU it costs no more than
    batches of 256 tokens (docs/benchmarks.md). ``threads`` is onnxruntime's intra-op thread
    count (0: its default, one per physical core); its threads do not spin while waiting,
    which would waste a shared machine's cores.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        model_file: str = ONNX_FILE,
        threads: int = 0,
        max_tokens: int = 0,
    ) -> None:
        self._model_file = model_file
        self._threads = threads
        super().__init__(directory, max_tokens=max_tokens)

    def _load_layers(self, path: Path, get: Any, layers: int) -> None:
        model = path / self._model_file
        if not model.is_file():
            raise ConfigError(f"{model}: no ONNX encoder (make it with scripts/build_onnx.py)")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ConfigError("the ONNX MiniLM embedder needs the 'onnxruntime' package") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own kinds for a damaged or foreign file
            raise ConfigError(f"{model}: cannot load the ONNX encoder: {exc}") from exc

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hidden = self._embed_tokens(ids).astype(np.float32, copy=False)
        (last,) = self._session.run(["last"], {"hidden": hidden, "mask": mask.astype(np.int32)})
        return _mean_pool(np.asarray(last), mask)
