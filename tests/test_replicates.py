"""research.replicates: the same students trained twice, compared model by model and verdict by verdict."""

import json

import numpy as np

from research.replicates import compare_replicates, replicates_markdown
from toxiclf.evaluation.comparisons import save_scores


def folder(path, scores: dict, comparisons: list):
    path.mkdir()
    for name, values in scores.items():
        save_scores(path, name, values, "ids")
        roc = {"student-3l-135-kd": 0.9863, "student-3l-135-ce": 0.9852}.get(name, 0.98)
        (path / f"{name}.json").write_text(json.dumps({"metrics": {"threshold_validation": {"roc_auc": roc}}}))
    (path / "comparisons.json").write_text(json.dumps({"comparisons": comparisons}))
    return path


def pair(model, against, roc_ci, pr_ci):
    def entry(ci):
        return {"difference": sum(ci) / 2, "ci95": list(ci), "established": ci[0] > 0 or ci[1] < 0}

    return {"model": model, "against": against, "roc_auc": entry(roc_ci), "pr_auc": entry(pr_ci)}


def test_a_retrained_student_is_compared_on_the_same_rows_and_each_verdict_is_matched(tmp_path):
    rng = np.random.default_rng(0)
    labels = (rng.random(400) < 0.3).astype(int)
    kd = labels + rng.normal(0, 0.6, 400)
    ce = labels + rng.normal(0, 0.9, 400)
    first = folder(tmp_path / "cpu", {"student-3l-135-kd": kd, "student-3l-135-ce": ce, "shipped": kd},
                   [pair("student-3l-135-kd", "student-3l-135-ce", (0.0005, 0.0017), (0.003, 0.006))])  # fmt: skip
    # the second training: the KD student retrained exactly (no difference), the pair's PR-AUC verdict not repeated
    second = folder(tmp_path / "gpu", {"student-3l-135-kd": kd.copy(), "student-3l-246-kd": ce},
                    [pair("student-3l-135-kd", "student-3l-135-ce", (0.0004, 0.0014), (-0.001, 0.004))])  # fmt: skip
    record = compare_replicates(first, second, labels, "ids")
    assert [m["model"] for m in record["models"]] == ["student-3l-135-kd"]  # in both, and a smaller student
    assert record["models"][0]["roc_auc"]["difference"] == 0 and not record["models"][0]["roc_auc"]["established"]
    assert [(v["metric"], v["first"], v["second"], v["agree"]) for v in record["verdicts"]] == [
        ("roc_auc", "above 0", "above 0", True),
        ("pr_auc", "above 0", "not established", False),
    ]
    text = replicates_markdown(record)
    assert "1 of 2 verdicts agree between the two trainings; they differ on student-3l-135-kd − student-3l-135-ce " \
           "(pr_auc)" in text  # fmt: skip
    assert "| student-3l-135-kd | 0.9863 | 0.9863 | +0.0000 [+0.0000, +0.0000] (n.e.) |" in text
    assert "moved by at most 0.0000 (students trained on both: 1)" in text


def test_verdicts_against_a_shipped_model_count_only_where_both_tables_scored_the_same_one(tmp_path):
    rng = np.random.default_rng(1)
    labels = (rng.random(300) < 0.3).astype(int)
    kd = labels + rng.normal(0, 0.6, 300)
    verdicts = [pair("student-3l-135-kd", "shipped", (-0.002, -0.001), (-0.004, -0.001))]
    first = folder(tmp_path / "cpu", {"student-3l-135-kd": kd, "shipped": kd + 0.1}, verdicts)
    same = folder(tmp_path / "gpu", {"student-3l-135-kd": kd, "shipped": kd + 0.1}, verdicts)
    assert [v["against"] for v in compare_replicates(first, same, labels, "ids")["verdicts"]] == ["shipped"] * 2
    newer = folder(tmp_path / "gpu-later", {"student-3l-135-kd": kd, "shipped": kd + 0.2}, verdicts)
    record = compare_replicates(first, newer, labels, "ids")
    assert record["verdicts"] == [] and record["not_compared_references"] == ["shipped"]
    assert "No paired comparison is in both folders yet. Not compared: the verdicts against shipped, whose scores " \
           "differ between the two folders" in replicates_markdown(record)  # fmt: skip
