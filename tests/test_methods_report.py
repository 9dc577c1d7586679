"""The seed's table (odd, even or LoRA?) from results files: values as recorded, odd minus the others, gaps named."""

import json

from research.methods_report import methods_markdown, plot_methods


def result(name, roc_auc, accuracy, loss=None, throughput=80.0):
    return {
        "model": name, "backend": "torch",
        "metrics": {"threshold_validation": {"accuracy": accuracy, "roc_auc": roc_auc, "pr_auc": 0.9, "f1": 0.8},
                    "bootstrap_95ci": {"roc_auc": [roc_auc - 0.002, roc_auc + 0.002]}},
        "cost": {"parameters": 29_150_000, "trainable_parameters": 296_066,
                 "throughput_comments_per_s_batch32": throughput},
        "provenance": {"training": {"train_loss": loss, "train_seconds": 3600.4}},
    }  # fmt: skip


def test_the_table_shows_each_method_as_recorded_and_odd_minus_the_others(tmp_path):
    (tmp_path / "student-odd.json").write_text(json.dumps(result("student-odd", 0.9854, 0.9656, loss=0.1234)))
    (tmp_path / "lora.json").write_text(json.dumps(result("lora", 0.9830, 0.9600, throughput=40)))
    comparison = {"model": "lora", "against": "student-odd",
                  "roc_auc": {"difference": -0.0024, "ci95": [-0.0031, -0.0017], "established": True},
                  "pr_auc": {"difference": -0.004, "ci95": [-0.009, 0.001], "established": False}}  # fmt: skip
    (tmp_path / "comparisons.json").write_text(json.dumps({"comparisons": [comparison]}))
    table = methods_markdown(tmp_path)
    assert (
        "| student-odd | 0.1234 | 96.56% | 0.9854 [0.9834, 0.9874] | 0.900 | 0.800 | 29.1 M / 0.30 M | 3,600 "
        "| 80 | 95.48% |"
    ) in table
    assert "| student-even | not scored yet | | | | | | | | 11.60% |" in table
    assert "| student-odd − lora | +0.0024 [+0.0017, +0.0031] | +0.0040 [-0.0010, +0.0090] (not established) |" in table
    assert "| student-odd − student-even | not scored yet | |" in table
    assert plot_methods(tmp_path).read_bytes()[:4] == b"\x89PNG"


def test_the_verdict_is_written_from_the_comparisons_and_explains_the_seed_s_even_accuracy(tmp_path):
    even = result("student-even", 0.9853, 0.9669)
    even["metrics"]["threshold_validation"]["confusion_matrix"] = [[880, 20], [13, 87]]  # 10 % toxic
    (tmp_path / "student-even.json").write_text(json.dumps(even))
    comparisons = [
        {"model": "student-even", "against": "student-odd",
         "roc_auc": {"difference": 0.0, "ci95": [-0.0007, 0.0006], "established": False},
         "pr_auc": {"difference": 0.0004, "ci95": [-0.0018, 0.0028], "established": False}},
        {"model": "student-odd-ce", "against": "student-odd",
         "roc_auc": {"difference": -0.0010, "ci95": [-0.0016, -0.0004], "established": True},
         "pr_auc": {"difference": 0.003, "ci95": [0.001, 0.005], "established": True}},
    ]  # fmt: skip
    (tmp_path / "comparisons.json").write_text(json.dumps({"comparisons": comparisons}))
    verdict = methods_markdown(tmp_path).split("**What the table says**")[1]
    assert "Odd − the even student: ROC-AUC ties (+0.0000 [-0.0006, +0.0007], not established)" in verdict
    assert "Odd − the CE-only odd student: ROC-AUC favours the odd student (+0.0010 [+0.0004, +0.0016]); " in verdict
    assert "PR-AUC favours the CE-only odd student (-0.0030 [-0.0050, -0.0010])" in verdict
    assert "LoRA is not scored yet." in verdict
    assert "about the share of toxic comments (10.0% of this test split)" in verdict
    assert "Ours scores 96.69%: the failure is not reproduced." in verdict
    assert "No difference is established" not in verdict  # LoRA is not scored yet


def test_the_verdict_says_so_when_no_method_is_better_than_another(tmp_path):
    for name in ("student-odd", "student-even", "student-odd-ce"):
        scored = result(name, 0.9854, 0.9656)
        scored["metrics"]["threshold_validation"]["confusion_matrix"] = [[880, 20], [13, 87]]
        (tmp_path / f"{name}.json").write_text(json.dumps(scored))
    lora = result("lora", 0.9854, 0.9646)
    lora["cost"]["parameters"] = 39_800_000
    (tmp_path / "lora.json").write_text(json.dumps(lora))
    tie = {"difference": 0.0, "ci95": [-0.0006, 0.0006], "established": False}
    comparisons = [{"model": name, "against": "student-odd", "roc_auc": tie, "pr_auc": tie}
                   for name in ("student-even", "lora", "student-odd-ce")]  # fmt: skip
    (tmp_path / "comparisons.json").write_text(json.dumps({"comparisons": comparisons}))
    verdict = methods_markdown(tmp_path).split("**What the table says**")[1]
    assert "No difference is established" in verdict
    assert "a 6-layer student has 29.1 M parameters and half the layers to run, LoRA's merged model 39.8 M." in verdict
    comparisons[2]["pr_auc"] = {"difference": -0.003, "ci95": [-0.005, -0.001], "established": True}
    (tmp_path / "comparisons.json").write_text(json.dumps({"comparisons": comparisons}))
    verdict = methods_markdown(tmp_path).split("**What the table says**")[1]
    assert "Established differences: odd against the CE-only odd student." in verdict
