"""Canaries recorded at shipping, checked at every load: a folder changed after shipping refuses to load."""

import json
import shutil

import numpy as np
import pytest

from toxiclf.inference.canaries import CANARIES_FILE
from toxiclf.inference.classifier import load_classifier
from toxiclf.shipping.ship import record_canaries


@pytest.fixture
def shipped(tmp_path, tiny_classifier_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, folder, ignore=shutil.ignore_patterns("onnx"))
    record_canaries(folder, backends=("torch",))
    return folder


def test_a_folder_as_shipped_loads_and_says_what_was_checked(shipped, tiny_classifier_dir):
    assert load_classifier(shipped, "torch").self_check == "canaries recorded at shipping; no manifest.json"
    assert (
        load_classifier(tiny_classifier_dir, "torch").self_check == "finite scores (no canaries.json); no manifest.json"
    )
    assert load_classifier(shipped, "torch", calibrated=False).backend == "torch"  # compared calibrated all the same


def test_a_calibration_changed_after_shipping_refuses_to_load(shipped):
    (shipped / "calibration.json").write_text(json.dumps({"backends": {"torch": {"method": "temperature",
                                                                               "temperature": 0.2}}}))  # fmt: skip
    with pytest.raises(ValueError, match="the model folder changed since it was shipped"):
        load_classifier(shipped, "torch")


def test_other_weights_or_a_broken_file_refuse_to_load(shipped, tiny_classifier_dir):
    stored = json.loads((shipped / CANARIES_FILE).read_text())
    (shipped / CANARIES_FILE).write_text(json.dumps({**stored, "weights_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="recorded for other weights"):
        load_classifier(shipped, "torch")
    (shipped / CANARIES_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="not a valid canaries file"):
        load_classifier(shipped, "torch")


def test_scores_moved_beyond_the_tolerance_refuse_and_within_it_pass(shipped):
    stored = json.loads((shipped / CANARIES_FILE).read_text())
    nudged = [s + 0.0005 for s in stored["scores"]["torch"]]
    (shipped / CANARIES_FILE).write_text(json.dumps({**stored, "scores": {"torch": nudged}}))
    load_classifier(shipped, "torch")  # within 1e-3: a rounding difference between machines
    moved = [s + 0.01 for s in stored["scores"]["torch"]]
    (shipped / CANARIES_FILE).write_text(json.dumps({**stored, "scores": {"torch": moved}}))
    with pytest.raises(ValueError, match="tolerance 0.001"):
        load_classifier(shipped, "torch")


def test_healthz_reports_the_check(shipped):
    from app import create_app

    client = create_app({"TESTING": True, "MODEL_DIR": str(shipped), "BACKEND": "torch"}).test_client()
    assert client.get("/healthz").get_json()["self_check"].startswith("canaries recorded at shipping")


def test_each_canary_is_scored_alone_so_a_batching_classifier_is_judged_on_its_own_scores(shipped):
    from toxiclf.inference.canaries import check

    classifier = load_classifier(shipped, "torch")
    alone = classifier.logits

    def batch_dependent(texts, **kwargs):  # as a dynamically quantized graph that batches texts of other lengths
        return alone(texts, **kwargs) + np.array([0.0, 5.0]) * (len(texts) > 1)

    classifier.logits = batch_dependent
    assert check(classifier) == (True, None)
