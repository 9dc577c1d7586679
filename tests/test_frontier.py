"""The speed–quality frontier: the Pareto set, and a run over tiny models with their recorded test metrics."""

import json
import shutil

import pytest

from research.frontier import main, on_frontier
from toxiclf.paths import sha256_file


def test_the_frontier_is_the_set_no_other_model_beats_on_both_axes():
    points = {"big": (0.99, 100.0), "small": (0.98, 400.0), "worse": (0.97, 300.0), "tfidf": (0.96, 5000.0),
              "tie": (0.98, 400.0)}  # fmt: skip
    assert on_frontier(points) == {"big", "small", "tie", "tfidf"}  # "worse" is beaten by "small" on both


def record(results_dir, name, roc_auc, weights=None, backend="torch"):
    result = {"model": name, "backend": backend, "model_sha256": sha256_file(weights) if weights else None,
              "metrics": {"threshold_validation": {"roc_auc": roc_auc, "pr_auc": roc_auc - 0.1}},
              "provenance": {"eval_rows": {"test": 40}}}  # fmt: skip
    (results_dir / f"{name}.json").write_text(json.dumps(result))


def test_every_model_is_timed_in_one_run_and_placed_with_its_recorded_quality(tmp_path, tiny_classifier_dir,
                                                                              tiny_dataset_dir):  # fmt: skip
    one_layer = tmp_path / "one"
    shutil.copytree(tiny_classifier_dir, one_layer, ignore=shutil.ignore_patterns("onnx"))
    results = tmp_path / "results"
    results.mkdir()
    record(results, "two", 0.9, tiny_classifier_dir / "model.safetensors")
    record(results, "one", 0.8, one_layer / "model.safetensors")
    record(results, "tfidf-logreg", 0.85)
    result = main(["--checkpoints", f"two={tiny_classifier_dir}", f"one={one_layer}", "--texts", "20",
                   "--dataset", str(tiny_dataset_dir), "--results-dir", str(results)])  # fmt: skip
    rows = {row["model"]: row for row in result["models"]}
    assert set(rows) == {"two", "one", "tfidf-logreg"} and rows["two"]["roc_auc"] == 0.9
    assert all(row["comments_per_s"] > 0 for row in rows.values()) and rows["two"]["layers"] == 2
    expected = on_frontier({name: (row["roc_auc"], row["comments_per_s"]) for name, row in rows.items()})
    assert {name for name, row in rows.items() if row["on_frontier"]} == expected and "two" in expected
    assert json.loads((results / "frontier.json").read_text()) == result and (results / "frontier.png").exists()


def test_results_of_other_weights_are_refused(tmp_path, tiny_classifier_dir, tiny_dataset_dir):
    results = tmp_path / "results"
    results.mkdir()
    record(results, "two", 0.9)  # no sha256 of these weights
    with pytest.raises(SystemExit, match="measured on other weights"):
        main(["--checkpoints", f"two={tiny_classifier_dir}", "--no-tfidf", "--texts", "5",
              "--dataset", str(tiny_dataset_dir), "--results-dir", str(results)])  # fmt: skip


def test_a_model_is_placed_by_its_served_scores_where_they_were_recorded(tmp_path, tiny_classifier_dir,
                                                                        tiny_dataset_dir):  # fmt: skip
    results = tmp_path / "results"
    results.mkdir()
    weights = tiny_classifier_dir / "model.safetensors"
    record(results, "two", 0.9, weights)
    record(results, "two-int8", 0.89, weights, backend="onnx-int8")
    result = main(["--checkpoints", f"two={tiny_classifier_dir}", "--no-tfidf", "--texts", "5",
                   "--dataset", str(tiny_dataset_dir), "--results-dir", str(results)])  # fmt: skip
    (row,) = result["models"]
    assert (row["roc_auc"], row["quality_backend"]) == (0.89, "onnx-int8")
