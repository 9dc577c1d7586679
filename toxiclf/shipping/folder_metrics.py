"""The test metrics a shipped folder carries (ModelFolder.METRICS): what run_eval.py measured on the folder's own
weights, per serving backend, copied from results/ into the folder so that whoever serves it (the app) reads the
folder alone, never results/.

    python run_eval.py --checkpoints shipped=model --backend onnx-int8 --no-baselines   # -> results/shipped.json
    python scripts/ship_model.py --refresh-metrics                # model/metrics.json (--refresh-card does it too)
"""

import json
from pathlib import Path

from ..evaluation.results_files import measured_on
from ..inference.classifier import SERVING_BACKENDS
from ..inference.model_folder import ModelFolder
from ..paths import REPO_ROOT, shown_path


def measured_metrics(model_dir: Path, results_dir: Path, backends=SERVING_BACKENDS) -> dict[str, dict]:
    """Per backend, the test metrics of a results file that run_eval.py wrote for this folder (its path) and its
    weights (their sha256) scored by that backend; where several do, the one with the best ROC-AUC, as the app
    chose them when it read results/ itself."""
    folder = ModelFolder(model_dir)
    target = folder.path.resolve()
    found = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        result = json.loads(path.read_text())
        if not (isinstance(result, dict) and "model" in result and "metrics" in result):
            continue  # not a model's results (serving.json, frontier.json, ...)
        backend, recorded = result.get("backend"), result.get("path")
        if backend not in backends or not recorded or (REPO_ROOT / recorded).resolve() != target:
            continue
        if not measured_on(result, folder.path):
            continue
        metrics = result["metrics"]["threshold_validation"]
        if backend in found and found[backend]["roc_auc"] >= metrics["roc_auc"]:
            continue
        found[backend] = {
            "roc_auc": metrics["roc_auc"],
            "f1": metrics["f1"],
            "precision": metrics["precision"],
            "recall": metrics["recall"],
            "test_rows": result["provenance"]["eval_rows"]["test"],
            "results_file": shown_path(path),
            "model_sha256": result["model_sha256"],
        }
    return found


def write_measured_metrics(model_dir: Path, results_dir: Path) -> dict[str, dict]:
    """Write the folder's metrics file from `results_dir` and, for a folder that has a manifest, the manifest again,
    once the folder still matches the manifest it had (a changed folder is not vouched for anew: ManifestError).
    Nothing is written where no results belong to the folder's weights; returns what was written."""
    folder = ModelFolder.load(model_dir)
    found = measured_metrics(folder.path, results_dir)
    if found:
        folder.write_metrics(found)
        if folder.manifest is not None:
            folder.write_manifest()
    return found
