import json
import shutil

import numpy as np
import pytest
import torch
from conftest import make_tiny_bert

from toxiclf.inference.classifier import Classifier, OnnxClassifier, load_classifier_for_serving
from toxiclf.inference.onnx_backend import FINGERPRINT_FILE, INT8_FILE, build_onnx

TEXTS = ["you stupid idiot", "thanks for the citation", "the page", "your edit is good and the source is good " * 5]


@pytest.fixture
def model_dir(tmp_path, tiny_classifier_dir):
    target = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, target, ignore=shutil.ignore_patterns("onnx*"))
    return target


def test_backends_agree_on_scores(model_dir):
    reference = Classifier(model_dir).scores(TEXTS)
    fp32 = OnnxClassifier(model_dir, quantized=False).scores(TEXTS)
    int8 = OnnxClassifier(model_dir, quantized=True).scores(TEXTS)
    assert np.abs(fp32 - reference).max() < 1e-5  # same network, same arithmetic up to float reordering
    assert np.abs(int8 - reference).max() < 0.02  # int8 weights: close, not equal
    assert OnnxClassifier(model_dir).predict(TEXTS)[0].keys() == {"score", "label", "flagged"}


def test_int8_weights_use_seven_bits_so_every_cpu_computes_the_same_score(model_dir):
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(build_onnx(model_dir) / INT8_FILE).graph
    weights = [numpy_helper.to_array(t) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(weights) >= 6  # the tiny model's two layers' matrices at least
    # CPUs without VNNI add pairs of u8 x s8 products into int16: 255 * 64 * 2 fits, 255 * 127 * 2 does not
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= 64


def test_export_is_cached_and_rebuilt_when_the_checkpoint_changes(model_dir):
    cache = build_onnx(model_dir)
    first = (cache / INT8_FILE).read_bytes()
    stamp = (cache / INT8_FILE).stat().st_mtime_ns
    assert build_onnx(model_dir) == cache and (cache / INT8_FILE).stat().st_mtime_ns == stamp  # reused

    changed = make_tiny_bert(num_layers=2, seed=1)  # same architecture, other weights
    changed.save_pretrained(model_dir)
    old_fingerprint = json.loads((cache / FINGERPRINT_FILE).read_text())
    build_onnx(model_dir)
    assert json.loads((cache / FINGERPRINT_FILE).read_text()) != old_fingerprint
    assert (cache / INT8_FILE).read_bytes() != first
    with torch.no_grad():
        expected = Classifier(model_dir).scores(TEXTS)
    assert np.abs(OnnxClassifier(model_dir, quantized=False).scores(TEXTS) - expected).max() < 1e-5


def test_residual_layernorm_stays_unfused_in_the_graph_and_in_the_session(model_dir):
    import onnx

    from research.onnx_profile import profile_ops

    ops = {node.op_type for node in onnx.load(build_onnx(model_dir) / INT8_FILE).graph.node}
    assert "SkipLayerNormalization" not in ops and "LayerNormalization" in ops
    assert {"QAttention", "MatMulInteger", "BiasGelu"} <= ops  # the other fusions and the int8 kernels are kept
    ran = {op["op"] for op in profile_ops(model_dir, TEXTS[:2], threads=1)["ops"]}
    assert "LayerNormalization" in ran and "SkipLayerNormalization" not in ran  # the session did not fuse it back


@pytest.mark.parametrize(("recipe", "kept"), [(4, True), (3, False)])
def test_a_graph_of_an_older_sound_recipe_is_kept_and_an_unsound_one_rebuilt(model_dir, recipe, kept):
    from toxiclf.inference.onnx_backend import EXPORT_VERSION

    cache = build_onnx(model_dir)
    stored = json.loads((cache / FINGERPRINT_FILE).read_text())
    (cache / FINGERPRINT_FILE).write_text(json.dumps({**stored, "export_version": recipe}))
    stamp = (cache / INT8_FILE).stat().st_mtime_ns
    build_onnx(model_dir)
    assert ((cache / INT8_FILE).stat().st_mtime_ns == stamp) is kept
    assert json.loads((cache / FINGERPRINT_FILE).read_text())["export_version"] == (recipe if kept else EXPORT_VERSION)


def test_serving_picks_onnx_int8_on_cpu_and_falls_back_to_torch(model_dir, monkeypatch):
    assert load_classifier_for_serving(model_dir).backend == "onnx-int8"

    def broken(*args, **kwargs):
        raise RuntimeError("no ONNX here")

    monkeypatch.setattr("toxiclf.inference.classifier.OnnxClassifier", broken)
    assert load_classifier_for_serving(model_dir).backend == "torch"
    assert load_classifier_for_serving(model_dir, parallel_passes=1).backend == "torch"  # an ONNX-only setting
    assert load_classifier_for_serving(model_dir, "torch", parallel_passes=1).backend == "torch"
    with pytest.raises(ValueError, match="unknown backend"):
        load_classifier_for_serving(model_dir, backend="tensorrt")


def test_without_a_gpu_driver_pytorch_is_not_asked_whether_there_is_a_gpu(tmp_path, monkeypatch):
    from toxiclf.inference import classifier

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # what PyTorch would say on a GPU machine
    monkeypatch.setattr(classifier.sys, "platform", "linux")
    monkeypatch.setattr(classifier, "GPU_DRIVER_PATHS", (str(tmp_path / "nvidia"),))
    assert classifier.cuda_available() is False  # no driver: known without PyTorch
    (tmp_path / "nvidia").mkdir()
    assert classifier.cuda_available() is True  # a driver: PyTorch is asked


def test_app_serves_with_onnx_int8_by_default_and_says_so(model_dir):
    from app import create_app

    app = create_app({"TESTING": True, "MODEL_DIR": str(model_dir)})
    client = app.test_client()
    assert client.get("/healthz").get_json()["backend"] == "onnx-int8"
    assert app.extensions["toxiclf"].classifier.parallel_passes == 1  # the server takes one pass at a time
    body = client.post("/api/v1/classify", json={"texts": TEXTS}).get_json()
    expected = OnnxClassifier(model_dir).scores(TEXTS)
    assert [r["score"] for r in body["results"]] == pytest.approx(list(expected), abs=1e-6)


def test_profile_attributes_the_kernel_time_to_op_types(model_dir):
    from research.onnx_profile import profile_ops

    result = profile_ops(model_dir, TEXTS, threads=1)
    assert result["comments"] == len(TEXTS) and result["kernel_ms_per_comment"] > 0 and result["threads"] == 1
    assert result["run_ms_per_comment"] > 0 and result["tokenize_ms_per_comment"] > 0 and result["tokens_median"] > 2
    # The kernels run inside the profiled passes: their time is a share of those passes' wall time.
    assert 0 < result["kernel_ms_per_comment"] < result["profiled_run_ms_per_comment"]
    outside = 1 - result["kernel_ms_per_comment"] / result["profiled_run_ms_per_comment"]
    assert 0 < result["outside_kernels_share"] < 1
    assert result["outside_kernels_share"] == pytest.approx(outside, abs=0.01)
    assert sum(op["share"] for op in result["ops"]) == pytest.approx(1.0, abs=0.01)
    assert any("MatMulInteger" in op["op"] or "DynamicQuantize" in op["op"] for op in result["ops"])


def test_a_read_only_model_folder_caches_its_onnx_files_in_the_user_cache(tmp_path, tiny_classifier_dir, monkeypatch):
    import shutil

    from toxiclf.inference.onnx_backend import build_onnx

    model = tmp_path / "installed"
    shutil.copytree(tiny_classifier_dir, model, ignore=shutil.ignore_patterns("onnx"))  # as installed: no graph yet
    model.chmod(0o555)
    monkeypatch.setenv("TOXICLF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("os.access", lambda path, mode: str(path) != str(model))  # root ignores permissions
    try:
        cache = build_onnx(model)
    finally:
        model.chmod(0o755)
    assert cache.is_relative_to(tmp_path / "cache") and not (model / "onnx").exists()


def test_a_corrupt_cached_onnx_file_is_rebuilt(tmp_path, tiny_classifier_dir):
    import shutil

    from toxiclf.inference.onnx_backend import INT8_FILE, build_onnx

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    cache = build_onnx(model)
    good = (cache / INT8_FILE).read_bytes()
    (cache / INT8_FILE).write_bytes(good[: len(good) // 2])
    rebuilt = build_onnx(model)
    assert (rebuilt / INT8_FILE).read_bytes() == good
    assert not (model / "onnx.partial").exists()


def test_served_int8_scores_do_not_depend_on_the_batch(tiny_classifier_dir):
    from toxiclf.inference.classifier import OnnxClassifier

    texts = ["you idiot", "thanks for the source on the bridge page, it helps a lot", "ugly", "please stop this"]
    served = OnnxClassifier(tiny_classifier_dir, quantized=True)
    alone = [served.scores([text])[0] for text in texts]
    mixed = served.scores(texts[::-1], batch_size=4)[::-1]
    np.testing.assert_allclose(mixed, alone, rtol=0, atol=1e-6)
    np.testing.assert_allclose(served.scores(texts + texts[:2], batch_size=3)[:4], alone, rtol=0, atol=1e-6)


def test_parallel_one_text_passes_give_each_text_its_own_score_in_input_order(tiny_classifier_dir):
    texts = [f"comment {i} " + "you idiot " * (i % 7) + "thanks for the source " * (i % 3) for i in range(23)]
    one_at_a_time = OnnxClassifier(tiny_classifier_dir, threads=2, parallel_passes=1)
    alone = np.array([one_at_a_time.scores([text])[0] for text in texts])
    for callers in (2, 3):
        side_by_side = OnnxClassifier(tiny_classifier_dir, threads=2, parallel_passes=callers)
        # the single-text pass (all threads) and the one-thread passes side by side: the same arithmetic
        np.testing.assert_array_equal(side_by_side.scores(texts, batch_size=8), alone)
        assert side_by_side._passes is not None  # the list went through the side-by-side passes
    assert one_at_a_time._passes is None


def test_side_by_side_passes_preprocess_each_text_as_a_single_pass_does(tmp_path, tiny_classifier_dir, monkeypatch):
    import json
    import shutil

    from toxiclf.inference import classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder)
    (folder / "preprocessing.json").write_text(
        json.dumps({"normalise_obfuscation": True, "restore_misspelt_words": True})
    )
    texts = ["you 1d10t", "y o u a r e a n i d i o t", "you dsigusting", "thanks for the fix"] * 3
    one_at_a_time = OnnxClassifier(folder, threads=2, parallel_passes=1)
    alone = np.array([one_at_a_time.scores([text])[0] for text in texts])
    side_by_side = OnnxClassifier(folder, threads=2, parallel_passes=2)
    np.testing.assert_array_equal(side_by_side.scores(texts), alone)
    # the same logits in the same precision on both paths: a float32 margin would round a score differently
    np.testing.assert_array_equal(side_by_side.logits(texts), one_at_a_time.logits(texts))
    assert side_by_side.logits(texts).dtype == one_at_a_time.logits(texts).dtype == np.float64
    assert side_by_side.scores(["you 1d10t"] * 2) == pytest.approx(side_by_side.scores(["you idiot"] * 2))
    monkeypatch.setattr(classifier, "SIDE_BY_SIDE_PROGRESS_STEP", 5)  # chunks of 5, 5 and 2: the same, in order
    np.testing.assert_array_equal(side_by_side.scores(texts, progress=True), alone)


def test_a_failed_export_leaves_no_partial_folder(tmp_path, tiny_classifier_dir, monkeypatch):
    import shutil

    from toxiclf.inference import onnx_backend

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model, ignore=shutil.ignore_patterns("onnx*"))  # no cache: it must export

    def broken(*args):
        raise RuntimeError("export failed")

    monkeypatch.setattr(onnx_backend, "quantize_int8", broken)
    with pytest.raises(RuntimeError, match="export failed"):
        onnx_backend.build_onnx(model)
    assert sorted(p.name for p in model.iterdir() if p.is_dir()) == []


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_a_folder_that_asks_for_normalisation_scores_disguised_words_as_the_words(tmp_path, tiny_classifier_dir,
                                                                                  backend):  # fmt: skip
    import json
    import shutil

    from toxiclf.inference.classifier import load_classifier

    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder)
    plain = load_classifier(folder, backend)
    assert not plain.preprocessing
    assert plain.scores(["you 1d10t"])[0] != pytest.approx(plain.scores(["you idiot"])[0], abs=1e-6)
    (folder / "preprocessing.json").write_text(json.dumps({"normalise_obfuscation": True}))
    normalised = load_classifier(folder, backend)
    assert normalised.scores(["you 1d10t", "you i d i o t"]) == pytest.approx(normalised.scores(["you idiot"] * 2))
    assert normalised.scores(["youareanidiot"])[0] != pytest.approx(normalised.scores(["you are an idiot"])[0])
    (folder / "preprocessing.json").write_text(
        json.dumps({"normalise_obfuscation": True, "segment_joined_words": True})
    )
    segmented = load_classifier(folder, backend)
    assert segmented.scores(["youareanidiot", "y o u a r e a n i d i o t"]) == pytest.approx(
        segmented.scores(["you are an idiot"] * 2)
    )  # spaced-out letters joined first, then split into words
    (folder / "preprocessing.json").write_text(
        json.dumps({"normalise_obfuscation": True, "restore_misspelt_words": True})
    )
    restored = load_classifier(folder, backend)
    assert restored.scores(["you dsigusting", "you d1sugsting"]) == pytest.approx(
        restored.scores(["you disgusting"] * 2)
    )  # look-alike digits read first, then the swapped letters
    (folder / "preprocessing.json").write_text(json.dumps({"segment_joined_words": "yes"}))
    with pytest.raises(ValueError, match=r"non-boolean settings \['segment_joined_words'\]"):
        load_classifier(folder, backend)
    (folder / "preprocessing.json").write_text(json.dumps({"lowercase": True}))
    with pytest.raises(ValueError, match="preprocessing.json is not a valid preprocessing file"):
        load_classifier(folder, backend)


def test_the_command_keeps_a_shipped_folders_int8_graph_and_builds_a_new_folders(model_dir, capsys):
    from toxiclf.inference.onnx_backend import FP32_FILE, main

    main([str(model_dir)])  # a checkpoint without graphs: both are built
    assert "model.int8.onnx" in capsys.readouterr().out and (model_dir / "onnx" / FP32_FILE).exists()
    (model_dir / "onnx" / FP32_FILE).unlink()  # as shipped: the int8 graph alone
    shipped = (model_dir / "onnx" / INT8_FILE).read_bytes()
    main([str(model_dir)])
    assert (model_dir / "onnx" / INT8_FILE).read_bytes() == shipped and not (model_dir / "onnx" / FP32_FILE).exists()


def test_the_command_refuses_a_thread_count_below_one_in_one_line(model_dir, capsys):
    from research.onnx_profile import main

    with pytest.raises(SystemExit) as stopped:
        main([str(model_dir), "--output", str(model_dir / "profile.json"), "--threads", "0"])
    assert stopped.value.code == 2 and capsys.readouterr().err.strip().endswith("--threads must be at least 1")
    assert not (model_dir / "onnx").exists()  # refused before anything was built
