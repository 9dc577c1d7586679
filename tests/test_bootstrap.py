"""The all-at-once bootstrap metrics equal scikit-learn's on each resample, ties and undrawn rows included."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from toxiclf.evaluation.bootstrap import SortedScores, both_classes, f1_at, resample_counts
from toxiclf.evaluation.comparisons import paired_bootstrap
from toxiclf.evaluation.scores import bootstrap_intervals


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    labels = (rng.random(300) < 0.15).astype(int)
    scores = np.round(np.clip(0.3 * labels + rng.random(300) * 0.8, 0, 1), 2)  # rounded: many ties
    return labels, scores


def test_resample_metrics_equal_scikit_learn_on_the_drawn_rows(scored):
    labels, scores = scored
    predictions = (scores >= 0.5).astype(int)
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(labels), len(labels)) for _ in range(30)]
    counts = next(resample_counts(len(labels), 30, seed=0))
    assert np.array_equal(counts, np.stack([np.bincount(d, minlength=len(labels)) for d in draws]))
    ranked = SortedScores(labels, scores)
    expected_auc = [roc_auc_score(labels[d], scores[d]) for d in draws]
    expected_ap = [average_precision_score(labels[d], scores[d]) for d in draws]
    expected_f1 = [f1_score(labels[d], predictions[d]) for d in draws]
    np.testing.assert_allclose(ranked.roc_auc(counts), expected_auc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ranked.average_precision(counts), expected_ap, rtol=0, atol=1e-12)
    np.testing.assert_allclose(f1_at(labels, predictions, counts), expected_f1, rtol=0, atol=1e-12)


def test_resamples_with_one_class_are_recognised():
    labels = np.array([0, 0, 0, 1])
    counts = np.array([[4.0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 4]])
    assert both_classes(labels, counts).tolist() == [False, True, False]


def test_intervals_contain_the_full_sample_metric(scored):
    labels, scores = scored
    intervals = bootstrap_intervals(labels, scores, 0.5, resamples=200)
    low, high = intervals["roc_auc"]
    assert low < roc_auc_score(labels, scores) < high and high - low < 0.3


def test_a_model_against_itself_differs_by_exactly_zero(scored):
    labels, scores = scored
    compared = paired_bootstrap(labels, scores, scores, resamples=200)
    for metric in ("roc_auc", "pr_auc"):
        assert compared[metric]["difference"] == 0 and compared[metric]["ci95"] == [0, 0]
        assert not compared[metric]["established"]
