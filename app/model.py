"""The model the app serves: loaded once at start-up, with its threshold and recorded test metrics."""

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from toxiclf.classifier import load_classifier_for_serving
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, sha256_file
from toxiclf.report import load_results

logger = logging.getLogger(__name__)

HOW_TO_GET_A_MODEL = (
    "No model is loaded: train one (see the README, e.g. `bash scripts/pipeline.sh 256`) and start the app with "
    "TOXICLF_MODEL=outputs/student-odd, or restore the shipped model folder `model/`."
)


@dataclass
class ServedModel:
    """A classifier shared by all requests, or the reason there is none."""

    classifier: object | None
    name: str
    error: str | None = None
    test_metrics: dict | None = None
    # Fast tokenizers are not safe to call from several threads at once, and two cores gain nothing from
    # running two forward passes side by side: requests take turns.
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ready(self) -> bool:
        return self.classifier is not None

    def predict(self, texts: list[str]) -> list[dict]:
        with self.lock:
            return self.classifier.predict(texts)


def recorded_test_metrics(model_dir: Path, backend: str, results_dir: Path = RESULTS_DIR) -> dict | None:
    """Test metrics that run_eval.py recorded for these very weights served by this backend, if any."""
    target = model_dir.resolve()
    weights = model_dir / "model.safetensors"
    sha256 = sha256_file(weights) if weights.exists() else None
    for result in load_results(results_dir):
        recorded = result.get("path")
        same_folder = recorded and (RESULTS_DIR.parent / recorded).resolve() == target
        if same_folder and result.get("backend") == backend and result.get("model_sha256") == sha256:
            metrics = result["metrics"]["threshold_validation"]
            return {
                "roc_auc": metrics["roc_auc"],
                "f1": metrics["f1"],
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "test_rows": result["provenance"]["eval_rows"]["test"],
                "backend": backend,
            }
    return None


def load_served_model(model_dir: Path | None, backend: str = "auto", batch_size: int = 32) -> ServedModel:
    model_dir = model_dir or SHIPPED_MODEL_DIR
    if not (model_dir / "config.json").exists():
        logger.warning("No model at %s", model_dir)
        return ServedModel(None, name="none", error=HOW_TO_GET_A_MODEL)
    classifier = load_classifier_for_serving(model_dir, backend=backend, batch_size=batch_size)
    logger.info("Serving %s (%s backend, threshold %.3f)", model_dir, classifier.backend, classifier.threshold)
    return ServedModel(
        classifier, name=model_dir.name, test_metrics=recorded_test_metrics(model_dir, classifier.backend)
    )
