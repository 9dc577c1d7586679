"""A broken model folder refuses to load with one sentence naming the file, rather than serving wrong answers."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from toxiclf.inference.classifier import load_classifier, load_classifier_for_serving


@pytest.fixture
def model_copy(tmp_path, tiny_classifier_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder)
    return folder


def test_weights_that_give_nan_refuse_to_load_and_serving_does_not_fall_back_to_them(model_copy):
    tensors = load_file(model_copy / "model.safetensors")
    tensors = {name: torch.full_like(t, float("nan")) if t.is_floating_point() else t for name, t in tensors.items()}
    save_file(tensors, model_copy / "model.safetensors", metadata={"format": "pt"})  # header intact, values broken
    with pytest.raises(ValueError, match="model.safetensors gives non-finite scores .* the weights are broken"):
        load_classifier(model_copy, "torch")  # (building the ONNX graphs already fails on NaN weights)
    with pytest.raises(ValueError, match="non-finite scores with the torch backend"):
        load_classifier_for_serving(model_copy)  # int8 fails, and the fallback must pass the same check


@pytest.mark.parametrize("threshold", [1.5, 0.0, "NaN"])
def test_a_threshold_outside_0_1_refuses_to_load(model_copy, threshold):
    (model_copy / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": threshold}}}))
    with pytest.raises(ValueError, match="threshold.json is not a valid threshold file .* not between 0 and 1"):
        load_classifier(model_copy, "torch")


@pytest.mark.parametrize(
    "calibration",
    [{"method": "platt", "slope": -0.5, "intercept": 0.1}, {"method": "platt", "slope": "NaN", "intercept": 0},
     {"method": "temperature", "temperature": 0}, {"method": "isotonic"}, {"method": "platt"}],
)  # fmt: skip
def test_a_calibration_that_is_not_finite_and_increasing_refuses_to_load(model_copy, calibration):
    (model_copy / "calibration.json").write_text(json.dumps({"backends": {"torch": calibration}}))
    with pytest.raises(ValueError, match="calibration.json is not a valid calibration file \\(torch: "):
        load_classifier(model_copy, "torch")


def test_a_folder_without_threshold_file_refuses_to_label_instead_of_guessing_0_5(model_copy):
    (model_copy / "threshold.json").unlink()
    with pytest.raises(ValueError, match=r"model/threshold.json is missing: labels need the threshold chosen on val"):
        load_classifier(model_copy, "torch")
    with pytest.raises(ValueError, match="threshold.json is missing"):
        load_classifier_for_serving(model_copy)  # no backend to fall back to: refused
    scorer = load_classifier(model_copy, "torch", need_threshold=False)  # evaluation: scores only
    assert scorer.threshold is None and len(scorer.scores(["a b"])) == 1
    with pytest.raises(ValueError, match="threshold.json is missing"):
        scorer.predict("a b")
    assert load_classifier(model_copy, "torch", threshold=0.3).predict("a b")["flagged"] in (True, False)


def test_a_threshold_file_without_the_backend_s_entry_refuses_that_backend_and_serving_falls_back(model_copy):
    (model_copy / "threshold.json").write_text(json.dumps({"thresholds": {"torch": {"threshold": 0.4}}}))
    with pytest.raises(ValueError, match="threshold.json has no threshold for the onnx-int8 backend"):
        load_classifier(model_copy, "onnx-int8")
    served = load_classifier_for_serving(model_copy)  # int8 refused: the backend that has a threshold serves
    assert served.backend == "torch" and served.threshold == 0.4


def test_the_app_and_the_cli_refuse_a_folder_without_threshold_in_one_line(model_copy, tmp_path):
    from app import create_app
    from toxiclf.batch import cli as predict

    (model_copy / "threshold.json").unlink()
    client = create_app({"TESTING": True, "MODEL_DIR": str(model_copy), "BACKEND": "torch"}).test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and "threshold.json is missing" in health.get_json()["message"]
    (tmp_path / "in.csv").write_text("comment_text\nhello there\n")
    with pytest.raises(SystemExit) as refused:
        predict.main(["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv"),
                      "--model", str(model_copy), "--backend", "torch"])  # fmt: skip
    message = str(refused.value.code)
    assert message.startswith("error: ") and "threshold.json is missing" in message and "\n" not in message
    assert not (tmp_path / "out.csv").exists()


def test_weight_digests_are_remembered_only_for_files_unchanged_since(tmp_path):
    import hashlib
    import os
    import time

    from toxiclf.paths import sha256_file

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 64)
    assert sha256_file(weights) == hashlib.sha256(b"a" * 64).hexdigest()
    weights.write_bytes(b"b" * 64)  # same size, within the same second: read again, never the remembered digest
    assert sha256_file(weights) == hashlib.sha256(b"b" * 64).hexdigest()
    settled = time.time() - 60
    os.utime(weights, (settled, settled))
    assert sha256_file(weights) == hashlib.sha256(b"b" * 64).hexdigest()  # remembered from here on
    weights.write_bytes(b"c" * 64)  # a later change moves the time: read again
    assert sha256_file(weights) == hashlib.sha256(b"c" * 64).hexdigest()
