"""How close a model runs to this CPU's own matrix-multiply rate: the roofline of the inference benchmark.

Absolute comments/s mean little across machines (some have AVX-512 VNNI, some only AVX2): what says how much is
left is the share of the machine's matrix-multiply rate the model reaches. This module measures that rate with
ONNX Runtime itself (the int8 `MatMulInteger` the dynamically quantized graph runs, and the fp32 `MatMul`), on
the model's own shapes, and counts the multiply-accumulates a comment costs:

    per layer, for L tokens of hidden size h and feed-forward size f:
      L·4h² (query, key, value and output projections) + L·2hf (feed-forward) + 2L²h (scores and weighted sum)

The embeddings (look-ups), layer norms, softmax and the classifier head (h² + 2h per comment) are left out: they
are not matrix multiplies, or are negligible beside these.
"""

import statistics
import time

import numpy as np


def macs_per_comment(config: dict, tokens: int) -> int:
    """Multiply-accumulates of one forward pass over `tokens` tokens (see the module's formula)."""
    h, f, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    return layers * (tokens * (4 * h * h + 2 * h * f) + 2 * tokens * tokens * h)


def gemm_graph(m: int, k: int, n: int, int8: bool):
    """A one-node ONNX graph: A[m, k] times a constant B[k, n] (uint8 × int8 -> int32, or float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if int8:
        a = helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])
        weights = numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), "b")
        node = helper.make_node("MatMulInteger", ["a", "b"], ["c"])
        c = helper.make_tensor_value_info("c", TensorProto.INT32, [m, n])
    else:
        a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])
        weights = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "b")
        node = helper.make_node("MatMul", ["a", "b"], ["c"])
        c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])
    graph = helper.make_graph([node], "gemm", [a], [c], initializer=[weights])
    # IR version 9 (ONNX 1.15): one every ONNX Runtime of recent years reads, whatever onnx writes by default
    return onnx.helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def gemm_rate(m: int, k: int, n: int, int8: bool, threads: int, seconds: float = 1.0) -> float:
    """Giga multiply-accumulates per second of ONNX Runtime on this shape: the median of timed runs filling
    about `seconds`, after a warm-up."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(gemm_graph(m, k, n, int8).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8) if int8 else rng.standard_normal((m, k)).astype(np.float32)
    for _ in range(3):
        session.run(None, {"a": a})
    times, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        started = time.perf_counter()
        session.run(None, {"a": a})
        times.append(time.perf_counter() - started)
    return m * k * n / statistics.median(times) / 1e9


def machine_rates(config: dict, tokens: int, threads: int) -> dict:
    """The int8 and fp32 rates on the model's feed-forward shape at `tokens` rows (one comment per pass) and at 512
    rows (a large GEMM: the machine's practical peak)."""
    h, f = config["hidden_size"], config["intermediate_size"]
    return {
        f"{kind}_gmacs_per_s_{rows}x{h}x{f}": round(gemm_rate(rows, h, f, kind == "int8", threads), 1)
        for kind in ("int8", "fp32")
        for rows in (tokens, 512)
    }
