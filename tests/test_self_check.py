"""A broken model folder refuses to load with one sentence naming the file, rather than serving wrong answers."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from toxiclf.classifier import load_classifier, load_classifier_for_serving


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
