"""Evaluation of one scored model: metrics at two thresholds, bootstrap intervals, sanity flags, CPU cost."""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

from .bootstrap import SortedScores, both_classes, f1_at, resample_counts
from .metrics import best_f1_threshold, classification_metrics

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
# A model predicting one class for this share of rows or more is flagged as degenerate: on a 10 %-toxic task,
# "never toxic" scores ~0.90 accuracy and must not pass for a working model.
DEGENERATE_SHARE = 0.99
LATENCY_COMMENTS = 50
THROUGHPUT_BATCH = 32
THROUGHPUT_COMMENTS = 256


def bootstrap_intervals(labels, scores, threshold, resamples=BOOTSTRAP_RESAMPLES, seed=0) -> dict:
    """Percentile 95 % intervals of F1 (at `threshold`) and ROC-AUC over seeded resamples of the rows."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    predictions = (scores >= threshold).astype(int)
    ranked = SortedScores(labels, scores)
    f1s, aucs = [], []
    for counts in resample_counts(len(labels), resamples, seed):
        counts = counts[both_classes(labels, counts)]  # one class only: AUC undefined, skip this draw
        f1s.append(f1_at(labels, predictions, counts))
        aucs.append(ranked.roc_auc(counts))
    f1s, aucs = np.concatenate(f1s), np.concatenate(aucs)
    tail = (1 - CONFIDENCE) / 2 * 100
    return {
        "resamples": resamples,
        "seed": seed,
        "f1": [float(np.percentile(f1s, tail)), float(np.percentile(f1s, 100 - tail))],
        "roc_auc": [float(np.percentile(aucs, tail)), float(np.percentile(aucs, 100 - tail))],
    }


def sanity_flags(metrics: dict) -> list[str]:
    """Loud warnings for results that signal a bug rather than a weak model."""
    flags = []
    rate = metrics["predicted_toxic_rate"]
    if rate >= DEGENERATE_SHARE or rate <= 1 - DEGENERATE_SHARE:
        flags.append(f"degenerate: predicts one class for {max(rate, 1 - rate):.1%} of comments")
    if metrics["roc_auc"] < 0.5:
        flags.append(f"inverted: ROC-AUC {metrics['roc_auc']:.3f} < 0.5 (labels flipped?)")
    return flags


def evaluate_scores(
    test_labels, test_scores, validation_labels, validation_scores, seed=0, resamples=BOOTSTRAP_RESAMPLES
) -> dict:
    """Metrics on test at 0.5 and at the max-F1 threshold of the validation split, with intervals and flags."""
    chosen = best_f1_threshold(validation_labels, validation_scores)
    at_half = classification_metrics(test_labels, test_scores, 0.5)
    at_chosen = classification_metrics(test_labels, test_scores, chosen)
    return {
        "threshold_0.5": at_half,
        "threshold_validation": at_chosen,
        "validation_threshold": chosen,
        "validation_roc_auc": float(roc_auc_score(validation_labels, validation_scores)),
        "bootstrap_95ci": bootstrap_intervals(test_labels, test_scores, chosen, resamples, seed),
        "curves": curve_points(test_labels, test_scores),
        "flags": sanity_flags(at_half)
        + [
            f + " (at the validation threshold)" for f in sanity_flags(at_chosen) if f.startswith("degenerate")
        ],  # fmt: skip
    }


CURVE_POINTS = 201  # the stored ROC / PR curves: enough for a plot, small in JSON


def curve_points(labels, scores) -> dict:
    """ROC and precision-recall curves on fixed grids, so that plots can be drawn from the results files alone."""
    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)
    grid = np.linspace(0, 1, CURVE_POINTS)
    # Interpolated precision: the best precision at this recall or more, the usual way to draw a PR curve.
    interpolated = [float(precision[recall >= r].max()) for r in grid]
    return {
        "roc": {"fpr": grid.round(4).tolist(), "tpr": np.interp(grid, fpr, tpr).round(4).tolist()},
        "pr": {"recall": grid.round(4).tolist(),
               "precision": np.round(interpolated, 4).tolist()},
    }  # fmt: skip


def typical_comments(texts: list[str], n: int = LATENCY_COMMENTS) -> list[str]:
    """The n comments closest to the median length: what latency at batch 1 should be measured on."""
    lengths = np.array([len(t) for t in texts])
    order = np.argsort(np.abs(lengths - np.median(lengths)), kind="stable")
    return [texts[i] for i in order[:n]]


def measure_cost(score: Callable[[list[str], int], np.ndarray], texts: list[str], repeats: int = 1) -> dict:
    """Batch-1 latency (median, p95) over typical comments and throughput at batch 32 (the median of `repeats`
    passes over the same comments), on this machine."""
    latency_texts = typical_comments(texts)
    score(latency_texts[:3], 1)  # warm-up: first calls allocate and pick kernels
    latencies = []
    for text in latency_texts:
        start = time.perf_counter()
        score([text], 1)
        latencies.append((time.perf_counter() - start) * 1000)
    batch_texts = texts[:THROUGHPUT_COMMENTS]
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        score(batch_texts, THROUGHPUT_BATCH)
        seconds.append(time.perf_counter() - start)
    return {
        "latency_ms_batch1_median": round(statistics.median(latencies), 3),
        "latency_ms_batch1_p95": round(float(np.percentile(latencies, 95)), 3),
        "latency_comments": len(latency_texts),
        "throughput_comments_per_s_batch32": round(len(batch_texts) / statistics.median(seconds), 1),
        "throughput_comments": len(batch_texts),
        "throughput_repeats": repeats,
    }


def folder_size_mb(path: Path, patterns=("*.safetensors", "*.bin", "*.onnx", "*.joblib")) -> float:
    """Size of the weight files in a model folder, in MB."""
    files = {f for pattern in patterns for f in Path(path).glob(pattern) if f.name != "training_args.bin"}
    return round(sum(f.stat().st_size for f in files) / 1e6, 1)
