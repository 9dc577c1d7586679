"""Paired comparisons of models on one test split: is model A's ROC-AUC / PR-AUC really above model B's?

Each model's test scores are kept by run_eval.py in `results/scores/<model>.npy` (float32, test-split order) with
the checksum of the test ids they belong to. A comparison resamples the test rows with replacement, the **same**
resamples for both models, and takes the percentile 95 % interval of the differences: pairing removes the
variance the two models share (the same hard comments), so it detects differences that two separate intervals
would hide. A difference whose interval contains 0 is reported as not established.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from .bootstrap import SortedScores, both_classes, resample_counts

SCORES_SUBDIR = "scores"
COMPARISONS_FILE = "comparisons.json"
REFERENCES = ("minilm-l6", "teacher", "student-odd")  # what every model is compared with, where scored
METRICS = {"roc_auc": roc_auc_score, "pr_auc": average_precision_score}


def ids_checksum(ids) -> str:
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()


def save_scores(results_dir: Path, name: str, scores, test_ids_sha256: str) -> None:
    folder = Path(results_dir) / SCORES_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{name}.npy", np.asarray(scores, dtype=np.float32))
    (folder / f"{name}.json").write_text(json.dumps({"test_ids_sha256": test_ids_sha256, "rows": len(scores)}) + "\n")


def load_scores(results_dir: Path, test_ids_sha256: str) -> dict[str, np.ndarray]:
    """Every stored score vector that belongs to these test rows."""
    folder = Path(results_dir) / SCORES_SUBDIR
    loaded = {}
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if json.loads(meta.read_text())["test_ids_sha256"] == test_ids_sha256:
            loaded[meta.stem] = np.load(meta.with_suffix(".npy"))
    return loaded


def paired_bootstrap(labels, scores_a, scores_b, resamples: int = 1000, seed: int = 0) -> dict:
    """Per metric: A minus B on all rows, and the 95 % interval over paired resamples of the rows."""
    labels = np.asarray(labels)
    ranked_a, ranked_b = SortedScores(labels, scores_a), SortedScores(labels, scores_b)
    differences = {name: [] for name in METRICS}
    for counts in resample_counts(len(labels), resamples, seed):
        counts = counts[both_classes(labels, counts)]
        differences["roc_auc"].append(ranked_a.roc_auc(counts) - ranked_b.roc_auc(counts))
        differences["pr_auc"].append(ranked_a.average_precision(counts) - ranked_b.average_precision(counts))
    compared = {}
    for name, metric in METRICS.items():
        low, high = np.percentile(np.concatenate(differences[name]), [2.5, 97.5])
        compared[name] = {
            "difference": float(metric(labels, scores_a) - metric(labels, scores_b)),
            "ci95": [float(low), float(high)],
            "established": bool(low > 0 or high < 0),
        }
    return compared


def scores_sha256(scores) -> str:
    return hashlib.sha256(np.ascontiguousarray(scores, dtype=np.float32).tobytes()).hexdigest()


def _earlier(results_dir: Path, test_ids_sha256: str, resamples: int, seed: int) -> tuple[dict, dict]:
    """The comparisons of the last write, and the scores' checksums they were made from, where their settings match."""
    path = Path(results_dir, COMPARISONS_FILE)
    if not path.exists():
        return {}, {}
    earlier = json.loads(path.read_text())
    settings = (earlier.get("test_ids_sha256"), earlier.get("resamples"), earlier.get("seed"))
    if settings != (test_ids_sha256, resamples, seed) or "scores_sha256" not in earlier:
        return {}, {}
    return {(c["model"], c["against"]): c for c in earlier["comparisons"]}, earlier["scores_sha256"]


def write_comparisons(
    results_dir: Path, labels, test_ids_sha256: str, resamples: int = 1000, seed: int = 0, pairs_also=()
):
    """Every scored model against each reference, and the (model, reference) pairs in `pairs_also` (run_eval.py:
    the smaller students' KD and CE-only pairs), where
    both were scored on the same rows -> results/comparisons.json. A pair whose two score vectors are those of the
    last write keeps its entry: the resamples are seeded, so it would come out the same (and a queue that adds one
    model at a time need not resample ninety pairs each time)."""
    scores = load_scores(results_dir, test_ids_sha256)
    checksums = {name: scores_sha256(values) for name, values in scores.items()}
    earlier, earlier_checksums = _earlier(results_dir, test_ids_sha256, resamples, seed)
    # (the majority baseline's constant score has no ranking to compare)
    pairs = [
        (name, reference)
        for reference in REFERENCES
        if reference in scores
        for name in sorted(scores)
        if name != reference and name != "majority"
    ]
    pairs += [pair for pair in pairs_also if pair[0] in scores and pair[1] in scores]
    comparisons = []
    for name, reference in pairs:
        unchanged = all(earlier_checksums.get(n) == checksums[n] for n in (name, reference))
        if unchanged and (name, reference) in earlier:
            comparisons.append(earlier[(name, reference)])
            continue
        compared = paired_bootstrap(labels, scores[name], scores[reference], resamples, seed)
        comparisons.append({"model": name, "against": reference, **compared})
    result = {"test_ids_sha256": test_ids_sha256, "rows": len(labels), "resamples": resamples, "seed": seed,
              "comparisons": comparisons, "scores_sha256": checksums}  # fmt: skip
    Path(results_dir, COMPARISONS_FILE).write_text(json.dumps(result, indent=2) + "\n")
    return result


def comparisons_markdown(results_dir: Path) -> str:
    path = Path(results_dir, COMPARISONS_FILE)
    if not path.exists():
        return ""
    result = json.loads(path.read_text())
    if not result["comparisons"]:
        return ""
    lines = [
        f"### Paired differences ({result['rows']:,} test comments, {result['resamples']} paired resamples)",
        "",
        "| model | against | Δ ROC-AUC [95 % CI] | Δ PR-AUC [95 % CI] |",
        "|---|---|---|---|",
    ]
    for c in result["comparisons"]:
        cells = []
        for metric in ("roc_auc", "pr_auc"):
            d = c[metric]
            verdict = "" if d["established"] else " (not established)"
            cells.append(f"{d['difference']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]{verdict}")
        lines.append(f"| {c['model']} | {c['against']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)
