"""ModelFolder owns a model folder's format: what shipping writes, every reader loads, verified against its
manifest; the test metrics travel inside the folder, so the app reads nothing of results/."""

import json
import shutil

import pytest
from conftest import make_tiny_bert, write_thresholds

from toxiclf.inference.manifest import ManifestError
from toxiclf.inference.model_folder import ModelFolder
from toxiclf.paths import REPO_ROOT, sha256_file

CALIBRATION = {"backends": {"torch": {"method": "temperature", "temperature": 1.5}}}
STEPS = {"normalise_obfuscation": True}


def metrics_entry(folder: ModelFolder, roc_auc: float = 0.93) -> dict:
    return {"roc_auc": roc_auc, "f1": 0.71, "precision": 0.8, "recall": 0.64, "test_rows": 321,
            "results_file": "results/shipped.json", "model_sha256": sha256_file(folder.weights)}  # fmt: skip


@pytest.fixture
def saved(tmp_path, tokenizer):
    """A tiny model saved from a config, then written as shipping writes a folder: the manifest last."""
    from toxiclf.inference import canaries
    from toxiclf.inference.classifier import load_classifier

    folder = ModelFolder(tmp_path / "model")
    make_tiny_bert(num_layers=2).save_pretrained(folder.path)
    tokenizer.save_pretrained(folder.path)
    folder.file(folder.RUN_CONFIG).write_text(json.dumps({"args": {"max_seq_length": 24}}))
    folder.write_preprocessing(STEPS)
    folder.write_calibration(CALIBRATION)
    folder.write_thresholds({"thresholds": {"torch": {"threshold": 0.42}}, "chosen_on": "validation"})
    scores = load_classifier(folder.path, "torch", check=False, need_threshold=False).scores(canaries.TEXTS)
    canaries.write(folder, {"torch": scores})
    folder.write_metrics({"torch": metrics_entry(folder)})
    folder.write_manifest()
    return folder


def test_a_saved_folder_loads_with_what_was_written(saved):
    from toxiclf.inference.classifier import load_classifier

    folder = ModelFolder.load(saved.path, required=True)
    assert set(folder.manifest["files"]) >= {folder.THRESHOLD, folder.CALIBRATION, folder.PREPROCESSING,
                                             folder.CANARIES, folder.METRICS, folder.WEIGHTS}  # fmt: skip
    assert folder.config["num_hidden_layers"] == 2 and folder.trained_max_length == 24
    assert folder.threshold("torch") == 0.42 and folder.threshold("onnx-fp32") == 0.42  # fp32 shares torch's
    assert folder.threshold("onnx-int8") is None
    assert folder.calibration("torch") == CALIBRATION["backends"]["torch"] and folder.calibration("onnx-int8") is None
    assert folder.preprocessing == STEPS and len(folder.canaries["scores"]["torch"]) == len(folder.canaries["texts"])
    expected = {key: value for key, value in metrics_entry(folder).items() if key != "model_sha256"}
    assert folder.recorded_metrics("torch") == {**expected, "backend": "torch"}
    assert folder.recorded_metrics("onnx-int8") is None  # another backend's numbers are not these
    classifier = load_classifier(saved.path, "torch")
    assert classifier.threshold == 0.42 and classifier.calibration == CALIBRATION["backends"]["torch"]
    assert classifier.max_length == 24 and classifier.manifest == folder.manifest
    assert classifier.self_check == "canaries recorded at shipping; files as in manifest.json"


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.write_thresholds({"thresholds": {"torch": {"threshold": 0.9}}}),
        lambda f: f.write_calibration({"backends": {"torch": {"method": "temperature", "temperature": 9.0}}}),
        lambda f: f.write_preprocessing({"normalise_obfuscation": False}),
        lambda f: f.write_metrics({"torch": metrics_entry(f, roc_auc=0.99)}),
    ],
    ids=["threshold", "calibration", "preprocessing", "metrics"],
)
def test_a_tampered_file_refuses_the_folder_in_one_line_naming_it(saved, change):
    from toxiclf.inference.classifier import load_classifier

    change(saved)
    with pytest.raises(ManifestError, match=r"\.json differs from the one shipped") as refused:
        ModelFolder.load(saved.path)
    assert "\n" not in str(refused.value)
    with pytest.raises(ValueError, match=r"differs from the one shipped"):
        load_classifier(saved.path, "torch")


def test_a_broken_file_of_a_folder_without_a_manifest_is_one_line_naming_it(tmp_path, tiny_classifier_dir):
    folder = ModelFolder(tmp_path / "model")
    shutil.copytree(tiny_classifier_dir, folder.path)
    folder.file(folder.METRICS).write_text("{not json")
    with pytest.raises(ValueError, match="metrics.json is not a valid metrics file") as refused:
        folder.recorded_metrics("torch")
    assert "\n" not in str(refused.value)
    folder.file(folder.PREPROCESSING).write_text(json.dumps({"lowercase": True}))
    with pytest.raises(ValueError, match="preprocessing.json is not a valid preprocessing file"):
        _ = folder.preprocessing


def test_the_folder_names_every_preprocessing_step_the_registry_runs():
    from toxiclf.inference.preprocessing import PREPROCESSING_STEPS

    assert tuple(PREPROCESSING_STEPS) == ModelFolder.PREPROCESSING_SETTINGS  # same names, same order


def test_without_metrics_the_app_says_none_were_recorded(tmp_path, tiny_classifier_dir):
    from app import create_app

    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    ModelFolder(model).write_manifest()  # shipped, never measured: no metrics.json
    client = create_app({"TESTING": True, "MODEL_DIR": str(model), "BACKEND": "torch"}).test_client()
    page = client.get("/")
    assert page.status_code == 200 and "No test metrics recorded for this model" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200


def test_the_shipped_folders_carry_their_test_metrics_as_results_recorded_them():
    from toxiclf.evaluation.results_files import read_result

    for name, results_name in (("model", "shipped"), ("model-fast", "shipped-fast")):
        folder = ModelFolder.load(REPO_ROOT / name, required=True)
        result = read_result(REPO_ROOT / "results", results_name)
        recorded = folder.recorded_metrics(result["backend"])
        measured = result["metrics"]["threshold_validation"]
        assert recorded["results_file"] == f"results/{results_name}.json"
        assert {k: recorded[k] for k in ("roc_auc", "f1", "precision", "recall")} == {
            k: measured[k] for k in ("roc_auc", "f1", "precision", "recall")
        }
        assert recorded["test_rows"] == result["provenance"]["eval_rows"]["test"]


def test_metrics_are_refreshed_from_the_best_results_of_these_weights_and_never_vouch_for_a_changed_folder(saved):
    from toxiclf.shipping.folder_metrics import measured_metrics
    from toxiclf.shipping.ship import ShipError, refresh_metrics

    results = saved.path.parent / "results"
    results.mkdir()
    base = {"model": "shipped", "path": str(saved.path), "backend": "torch", "model_sha256": sha256_file(saved.weights),
            "provenance": {"eval_rows": {"test": 50}}}  # fmt: skip
    for name, roc_auc in (("a", 0.90), ("b", 0.95)):
        metrics = {"roc_auc": roc_auc, "f1": 0.5, "precision": 0.5, "recall": 0.5}
        (results / f"{name}.json").write_text(json.dumps({**base, "metrics": {"threshold_validation": metrics}}))
    other = {**base, "path": str(results), "metrics": {"threshold_validation": {**metrics, "roc_auc": 0.99}}}
    (results / "other.json").write_text(json.dumps(other))  # another folder's numbers
    found = measured_metrics(saved.path, results)
    assert set(found) == {"torch"} and found["torch"]["roc_auc"] == 0.95 and found["torch"]["test_rows"] == 50
    refresh_metrics(saved.path, results)
    assert ModelFolder.load(saved.path).recorded_metrics("torch")["roc_auc"] == 0.95  # and the manifest vouches
    write_thresholds(saved.path, threshold=0.9)
    with pytest.raises(ShipError, match="threshold.json differs from the one shipped.*; metrics not written"):
        refresh_metrics(saved.path, results)


def test_the_app_reaches_nothing_of_evaluation_training_or_shipping():
    """Every toxiclf module the app's files import, followed through the package's own imports."""
    from test_layout import imported_modules, package_imports

    graph = package_imports()
    reached, todo = set(), [m for path in (REPO_ROOT / "app").glob("*.py") for m in imported_modules(path)]
    while todo:
        module = todo.pop()
        if module in graph and module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert "toxiclf.inference.model_folder" in reached
    assert not [m for m in reached if m.startswith(("toxiclf.evaluation", "toxiclf.training", "toxiclf.shipping"))]
