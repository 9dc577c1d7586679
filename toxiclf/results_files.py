"""The per-model results files run_eval.py writes (results/<model>.json), read without the plotting stack."""

import json
from pathlib import Path


def load_results(results_dir: Path) -> list[dict]:
    """The per-model results run_eval.py wrote (other JSON files there, e.g. serving.json, are skipped)."""
    results = [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]
    results = [r for r in results if "model" in r and "metrics" in r]
    return sorted(results, key=lambda r: -r["metrics"]["threshold_validation"]["roc_auc"])
