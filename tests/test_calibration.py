"""Calibration: the fitted maps, their choice, ECE, and that every backend serves calibrated scores."""

import json

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from toxiclf.inference.calibration import (
    apply,
    choose_and_fit,
    expected_calibration_error,
    fit_platt,
    fit_temperature,
    margins_from_probabilities,
)


def overconfident(n=4000, temperature=3.0, seed=0):
    """Labels drawn from sigmoid(z), reported margins z * temperature: a model too sure of itself."""
    rng = np.random.default_rng(seed)
    true_margin = rng.normal(-2.0, 2.5, n)
    labels = (rng.random(n) < expit(true_margin)).astype(int)
    return true_margin * temperature, labels


def test_temperature_scaling_recovers_the_overconfidence():
    margins, labels = overconfident()
    assert fit_temperature(margins, labels)["temperature"] == pytest.approx(3.0, rel=0.1)


def test_platt_scaling_recovers_slope_and_bias():
    margins, labels = overconfident()
    fitted = fit_platt(margins + 1.0, labels)  # shifted: temperature alone cannot undo a bias
    assert fitted["slope"] == pytest.approx(1 / 3, rel=0.1) and fitted["intercept"] == pytest.approx(-1 / 3, abs=0.15)
    assert choose_and_fit(margins + 1.0, labels)["method"] == "platt"


def test_calibration_lowers_ece_and_keeps_the_ranking():
    margins, labels = overconfident()
    calibration = choose_and_fit(margins, labels)
    before, after = expit(margins), apply(calibration, margins)
    assert expected_calibration_error(labels, after) < expected_calibration_error(labels, before) / 2
    assert roc_auc_score(labels, after) == roc_auc_score(labels, before)
    assert calibration["cross_validated_nll"][calibration["method"]] < calibration["uncalibrated_nll"]


def test_ece_by_hand():
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([0.1, 0.1, 0.9, 0.7])  # bins 1, 1, 13, 10 of 15
    # |0 - 0.1| * 2/4 + |1 - 0.9| * 1/4 + |1 - 0.7| * 1/4
    assert expected_calibration_error(labels, probabilities) == pytest.approx(0.05 + 0.025 + 0.075)


def test_margins_round_trip_through_probabilities():
    margins = np.array([-30.0, -2.0, 0.0, 3.5, 30.0])
    assert margins_from_probabilities(expit(margins))[1:4] == pytest.approx(margins[1:4])
    assert np.isfinite(margins_from_probabilities([0.0, 1.0])).all()


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_every_backend_serves_the_calibrated_score(tmp_path, tiny_classifier_dir, backend):
    import shutil

    from toxiclf.inference.classifier import load_classifier

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    texts = ["you idiot", "thanks for the source"]
    raw = load_classifier(model, backend).scores(texts)
    calibration = {"method": "temperature", "temperature": 4.0}
    (model / "calibration.json").write_text(json.dumps({"backends": {backend: calibration}}))
    served = load_classifier(model, backend).scores(texts)
    np.testing.assert_allclose(served, apply(calibration, margins_from_probabilities(raw)), atol=1e-6)
    uncalibrated = load_classifier(model, backend, calibrated=False).scores(texts)
    np.testing.assert_allclose(uncalibrated, raw, atol=1e-9)
