"""The roofline's two halves: a comment's multiply-accumulates, and this machine's GEMM rate through ONNX Runtime."""

import numpy as np
import onnxruntime as ort
import pytest

from toxiclf.evaluation.roofline import gemm_graph, gemm_rate, macs_per_comment


def test_a_comment_s_multiply_accumulates_are_its_matrix_multiplies():
    config = {"hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 2}
    tokens = 3
    projections = 4 * tokens * 4 * 4  # Q, K, V and output: [3, 4] x [4, 4] each
    feed_forward = 2 * tokens * 4 * 8  # up [3, 4] x [4, 8] and down [3, 8] x [8, 4]
    attention = 2 * tokens * tokens * 4  # scores [3, 4] x [4, 3] and weighted sum [3, 3] x [3, 4]
    assert macs_per_comment(config, tokens) == 2 * (projections + feed_forward + attention)


@pytest.mark.parametrize("int8", [True, False])
def test_the_gemm_graph_multiplies_and_its_rate_is_measured(int8):
    session = ort.InferenceSession(gemm_graph(3, 5, 2, int8).SerializeToString(), providers=["CPUExecutionProvider"])
    a = np.arange(15, dtype=np.uint8 if int8 else np.float32).reshape(3, 5)
    weights = {t.name: t for t in gemm_graph(3, 5, 2, int8).graph.initializer}["b"]
    from onnx import numpy_helper

    kind = np.int64 if int8 else np.float64
    expected = a.astype(kind) @ numpy_helper.to_array(weights).astype(kind)
    np.testing.assert_allclose(session.run(None, {"a": a})[0], expected, rtol=1e-5)
    assert gemm_rate(16, 32, 64, int8, threads=1, seconds=0.05) > 0


def test_a_comment_is_counted_at_its_own_token_length_not_its_batch_s(tiny_classifier_dir):
    import json

    from toxiclf.evaluation.bench import token_lengths

    config = json.loads((tiny_classifier_dir / "config.json").read_text())
    short, long = "thanks", "thanks for the source on the bridge page it helps a lot " * 4
    lengths = token_lengths(tiny_classifier_dir, config, [short, long])
    assert lengths == [token_lengths(tiny_classifier_dir, config, [text])[0] for text in (short, long)]
    assert lengths[0] < lengths[1] <= 128  # the short one is not padded to the long one's length
