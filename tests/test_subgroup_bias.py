"""Subgroup, BPSN and BNSP AUCs with intervals, and their power means: the same numbers scikit-learn gives, the
power mean's pull towards the worst term, and intervals around the point values."""

import numpy as np
import pytest

from toxiclf.evaluation.identity_audit import identity_aucs
from toxiclf.evaluation.subgroup_bias import POWER, bias_figures, power_mean


def toy(seed=0, rows=600):
    rng = np.random.default_rng(seed)
    labels = rng.random(rows) < 0.2
    subgroups = {"a": rng.random(rows) < 0.2, "b": rng.random(rows) < 0.15}
    # Term "b" is scored as a shortcut: its harmless mentions score high, so its BPSN AUC is low.
    scores = labels * 0.4 + rng.random(rows) * 0.6 + subgroups["b"] * 0.4
    return labels.astype(int), scores, subgroups


def test_the_point_aucs_are_scikit_learns():
    labels, scores, subgroups = toy()
    result = bias_figures(labels, scores, subgroups, resamples=20)
    for term, rows in subgroups.items():
        expected = identity_aucs(labels, scores, rows)
        for name, value in expected.items():
            assert result["terms"][term][name] == pytest.approx(value, abs=1e-4)
    assert result["terms"]["b"]["bpsn_auc"] < result["terms"]["a"]["bpsn_auc"]
    assert result["worst_terms_by_bpsn_auc"][0][0] == "b"


def test_intervals_hold_the_point_values_and_the_figure_follows_its_formula():
    labels, scores, subgroups = toy(1)
    result = bias_figures(labels, scores, subgroups, resamples=200, seed=3)
    for term in subgroups:
        for name in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
            low, high = result["terms"][term][f"{name}_95ci"]
            assert low <= result["terms"][term][name] <= high
    low, high = result["terms"]["a"]["subgroup_auc_95ci"]
    assert high - low > 0.01  # about 120 rows: far from certain
    means = [result[f"power_mean_{name}"] for name in ("subgroup_auc", "bpsn_auc", "bnsp_auc")]
    assert result["bias_figure"] == pytest.approx(0.25 * result["overall_auc"] + 0.25 * sum(means), abs=2e-4)
    low, high = result["bias_figure_95ci"]
    assert low <= result["bias_figure"] <= high


def test_the_power_mean_leans_towards_the_worst_value():
    assert power_mean([0.9, 0.9]) == pytest.approx(0.9)
    assert min(0.6, 0.99) < power_mean([0.6, 0.99]) < np.mean([0.6, 0.99])
    assert power_mean([0.6, 0.99]) == pytest.approx(((0.6**POWER + 0.99**POWER) / 2) ** (1 / POWER))
