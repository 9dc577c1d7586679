import math

import numpy as np
import pytest

from toxiclf.evaluation.metrics import best_f1_threshold, classification_metrics, toxic_probability

LABELS = [1, 1, 0, 0, 0, 1, 0, 0]
SCORES = [0.9, 0.4, 0.35, 0.1, 0.6, 0.8, 0.2, 0.05]


def test_metrics_equal_hand_computation_at_half():
    m = classification_metrics(LABELS, SCORES, threshold=0.5)
    # predicted toxic: 0.9 (tp), 0.6 (fp), 0.8 (tp); missed: 0.4 (fn)
    assert m["confusion_matrix"] == [[4, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # ROC-AUC: share of (toxic, non-toxic) pairs ranked right. 0.9 and 0.8 beat all 5; 0.4 beats 4 of 5.
    assert m["roc_auc"] == pytest.approx(14 / 15)
    # AP: precision at each toxic hit in rank order: 0.9 -> 1/1, 0.8 -> 2/2, 0.4 -> 3/4
    assert m["pr_auc"] == pytest.approx((1 + 1 + 3 / 4) / 3)


def test_threshold_changes_the_confusion_matrix_not_the_auc():
    low = classification_metrics(LABELS, SCORES, threshold=0.3)
    assert low["confusion_matrix"] == [[3, 2], [0, 3]]
    assert low["roc_auc"] == classification_metrics(LABELS, SCORES)["roc_auc"]


def test_best_f1_threshold_is_a_score_that_maximises_f1():
    threshold = best_f1_threshold(LABELS, SCORES)
    f1 = classification_metrics(LABELS, SCORES, threshold)["f1"]
    # at 0.4 all three toxic are caught with one false positive (0.6): F1 = 6/7, the best possible here
    assert threshold == pytest.approx(0.4)
    assert f1 == pytest.approx(6 / 7)


def test_toxic_probability_is_a_stable_softmax():
    logits = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, math.log(3)]])
    assert toxic_probability(logits) == pytest.approx([0.5, 0.0, 0.75])
