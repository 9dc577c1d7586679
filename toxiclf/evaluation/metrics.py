"""Metrics with scikit-learn (the `evaluate` library fetches its metric scripts from the hub)."""

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)


def toxic_probability(logits: np.ndarray) -> np.ndarray:
    """P(toxic) from two-class logits, computed stably."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    return probs[:, 1] / probs.sum(axis=-1)


def classification_metrics(labels, scores, threshold: float = 0.5) -> dict:
    """Accuracy, precision / recall / F1 of the toxic class, ROC-AUC, PR-AUC and the confusion matrix."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    predictions = (scores >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, average="binary", pos_label=1, zero_division=0
    )
    both_classes = len(np.unique(labels)) == 2
    return {
        "threshold": float(threshold),
        "accuracy": float(accuracy_score(labels, predictions)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both_classes else float("nan"),
        # rows: true non-toxic / toxic; columns: predicted non-toxic / toxic
        "confusion_matrix": confusion_matrix(labels, predictions, labels=[0, 1]).tolist(),
        "predicted_toxic_rate": float(predictions.mean()),
    }


def compute_metrics(eval_prediction) -> dict:
    """Trainer hook: the scalar metrics at threshold 0.5 (the best checkpoint is picked by `roc_auc`)."""
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    logits = logits[0] if isinstance(logits, tuple) else logits
    metrics = classification_metrics(labels, toxic_probability(logits))
    return {k: v for k, v in metrics.items() if k not in ("threshold", "confusion_matrix")}


def best_f1_threshold(labels, scores) -> float:
    """The score threshold that maximises F1 of the toxic class (use it on validation data only)."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    # precision/recall have one more entry than thresholds (the point at recall 0); drop it.
    f1 = 2 * precision[:-1] * recall[:-1] / np.clip(precision[:-1] + recall[:-1], 1e-12, None)
    return float(thresholds[int(np.argmax(f1))])
