"""Build the ONNX encoder of the shipped all-MiniLM-L6-v2, quantised to int8, for ``minilm-onnx``.

Reads the numpy embedder directory shipped with Parallax (``src/parallax/data/minilm-l6-v2``,
``weights.npz``: int8 linear layers with one scale per output row), writes the six transformer
layers as an ONNX graph with the ``onnx`` helper API (no torch), then quantises it with
onnxruntime's dynamic quantisation (int8 weights per output channel, uint8 activations per
call), so onnxruntime runs the matrix products with integer (VNNI) kernels.

1. dequantise the shipped weights (:class:`parallax.bert.BertEncoder` does it);
2. build the float32 graph from onnxruntime's fused BERT operators (``Attention``, ``Gelu``,
   ``SkipLayerNormalization``, domain ``com.microsoft``: fewer, larger kernels than the plain
   ONNX operators, which onnxruntime does not fuse when they were not exported from PyTorch):
   input ``hidden`` (batch, tokens, 384: the embedding layer's output, which the embedder
   computes in numpy from the int8 word table), input ``mask`` (batch, tokens; int32, 1 for a
   token, 0 for padding), output ``last`` (batch, tokens, 384);
3. quantise the attention projections and the MatMuls (``quantize_dynamic``, ``per_channel``)
   except those named by ``--keep-float`` (none by default; keeping the feed-forward output
   projection ``down`` in float32 halves the vectors' error for 1.5x the CPU time, and did not
   raise MSRP accuracy: docs/benchmarks.md); the weights come out as the shipped int8 rows
   (same per-row scale), so only the activations' rounding is new;
4. write ``encoder.onnx`` beside ``weights.npz``.

The word-embedding table stays out of the graph (it would double the file); the embedder looks
tokens up in numpy. Usage (the development venv has ``onnx`` and ``onnxruntime``):
``python scripts/build_onnx.py [--out FILE] [--keep-float [qkv|out|up|down ...]] [--reduce-range] [--float32]``
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from parallax.bert import ONNX_FILE, BertEncoder
from parallax.embed import BUNDLED_NUMPY_MINILM

OPSET = 17
MS = "com.microsoft"
#: The products of one layer, by the name ``--keep-float`` takes, and their graph node names.
PRODUCTS = {"qkv": "attention", "out": "att_mm", "up": "up_mm", "down": "down_mm"}


def build_graph(encoder: BertEncoder, *, half: Collection[str] = ()) -> Any:
    """Step 2: the float32 ONNX model of ``encoder``'s transformer layers.

    The weights of the products named in ``half`` (node names, e.g. ``l0_down_mm``) are stored
    as float16 and cast to float32 in the graph, which onnxruntime folds once when it loads the
    model: half the file for the products left unquantised, vectors within 1e-6 cosine.
    """
    from onnx import TensorProto, checker, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    d = encoder.dim

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def weight(name: str, value: np.ndarray, product: str) -> str:
        if product not in half:
            return const(name, value)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float16), name + "16"))
        return node("Cast", [name + "16"], name, to=TensorProto.FLOAT)

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        domain = MS if op in {"Attention", "Gelu", "SkipLayerNormalization"} else ""
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def add_norm(out: str, residual: str, name: str, w: np.ndarray, b: np.ndarray, bias: np.ndarray) -> str:
        """LayerNorm(out + bias + residual), one fused kernel."""
        inputs = [out, residual, const(name + "_w", w), const(name + "_b", b), const(name + "_bias", bias)]
        return node("SkipLayerNormalization", inputs, name, epsilon=encoder.eps)

    x = "hidden"
    for i, layer in enumerate(encoder._layers):
        p = f"l{i}_"
        att = node(
            "Attention",
            [x, weight(p + "qkv_w", layer.qkv_w, p + "attention"), const(p + "qkv_b", layer.qkv_b), "mask"],
            p + "attention",
            num_heads=encoder.heads,
        )
        att = node("MatMul", [att, weight(p + "out_w", layer.out_w, p + "att_mm")], p + "att_mm")
        x = add_norm(att, x, p + "ln1", layer.ln1_w, layer.ln1_b, layer.out_b)
        up = node("MatMul", [x, weight(p + "up_w", layer.up_w, p + "up_mm")], p + "up_mm")
        up = node("Add", [up, const(p + "up_b", layer.up_b)], p + "up")
        up = node("Gelu", [up], p + "gelu")  # the exact (erf) GELU, as BERT
        down = node("MatMul", [up, weight(p + "down_w", layer.down_w, p + "down_mm")], p + "down_mm")
        x = add_norm(down, x, p + "ln2", layer.ln2_w, layer.ln2_b, layer.down_b)
    nodes.append(helper.make_node("Identity", [x], ["last"], name="last"))
    graph = helper.make_graph(
        nodes,
        "minilm_encoder",
        [
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", d]),
            helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("last", TensorProto.FLOAT, ["batch", "tokens", d])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)]
    )
    model.ir_version = 8
    checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=BUNDLED_NUMPY_MINILM)
    parser.add_argument("--out", type=Path, default=BUNDLED_NUMPY_MINILM / ONNX_FILE)
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (for CPUs without VNNI)")
    parser.add_argument("--float32", action="store_true", help="write the float32 graph, not quantised")
    parser.add_argument(
        "--keep-float",
        nargs="*",
        choices=sorted(PRODUCTS),
        default=[],
        help="products left in float32 in every layer",
    )
    args = parser.parse_args()
    import onnx

    # 1. dequantised weights; 2. the float32 graph
    encoder = BertEncoder(args.source)
    kept = [f"l{i}_{PRODUCTS[k]}" for i in range(len(encoder._layers)) for k in args.keep_float]
    model = build_graph(encoder, half=() if args.float32 else kept)
    if args.float32:
        onnx.save(model, str(args.out))
        print(f"wrote {args.out} (float32)")
        return
    # 3. dynamic int8 quantisation of the products with constant weights
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save(model, str(fp32))
        quantize_dynamic(
            fp32,
            args.out,
            per_channel=True,
            reduce_range=args.reduce_range,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=kept,
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    # 4. written
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
