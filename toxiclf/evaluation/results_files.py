"""The per-model results files run_eval.py writes (results/<model>.json), read without the plotting stack."""

import json
from pathlib import Path

from ..inference.model_folder import ModelFolder
from ..paths import sha256_file

# A model scored a second time as served (ONNX int8, one text per pass) has those results as NAME-int8: the paired
# comparisons of training recipes read the PyTorch scores, the frontier and a fast tier's goals the served ones.
SERVED_SUFFIX = "-int8"


def load_results(results_dir: Path) -> list[dict]:
    """The per-model results run_eval.py wrote (other JSON files there, e.g. serving.json, are skipped)."""
    results = [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]
    results = [r for r in results if "model" in r and "metrics" in r]
    return sorted(results, key=lambda r: -r["metrics"]["threshold_validation"]["roc_auc"])


def measured_on(result: dict, model_dir: Path) -> bool:
    """Whether a results file (of run_eval.py or another evaluation) was measured on the weights now in `model_dir`:
    the sha256 of its model.safetensors, which every results file records. The one answer of the app's footer,
    the model card and shipping to "do these numbers belong to these weights?"."""
    weights = ModelFolder(model_dir).weights
    return bool(result.get("model_sha256")) and weights.exists() and result["model_sha256"] == sha256_file(weights)


def read_result(results_dir: Path, name: str) -> dict | None:
    """run_eval.py's results of `name` (results_dir/NAME.json), or None where it has not scored it."""
    path = Path(results_dir) / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def served_result(results_dir: Path, name: str) -> dict | None:
    """The results of `name` as served (NAME-int8) where run_eval.py scored it so, else its PyTorch results."""
    return read_result(results_dir, name + SERVED_SUFFIX) or read_result(results_dir, name)


SEED_TABLE = ("teacher", "student-odd", "student-even", "student-odd-ce", "lora")  # the seed's question's models
TABLE_MODELS = (*SEED_TABLE, "minilm-l6")  # the odd / even / LoRA table's rows: beside them, MiniLM-L6 fine-tuned
