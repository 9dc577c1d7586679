import json

import numpy as np
import pytest

import run_eval
from research.report import update_readme
from toxiclf.evaluation.metrics import classification_metrics
from toxiclf.evaluation.scores import bootstrap_intervals, evaluate_scores, sanity_flags, typical_comments
from toxiclf.paths import sha256_file


def test_threshold_is_chosen_on_validation_not_on_test():
    # On validation the best cut is 0.7; on test it would be 0.3. The reported threshold must be 0.7.
    val_labels, val_scores = [0, 0, 1, 1], [0.2, 0.5, 0.7, 0.9]
    test_labels, test_scores = [0, 1, 1, 0, 1], [0.1, 0.3, 0.4, 0.2, 0.8]
    result = evaluate_scores(test_labels, test_scores, val_labels, val_scores)
    assert result["validation_threshold"] == pytest.approx(0.7)
    assert result["threshold_validation"]["threshold"] == pytest.approx(0.7)
    assert result["threshold_validation"]["confusion_matrix"] == [[2, 0], [2, 1]]  # only 0.8 passes 0.7


def test_degenerate_and_inverted_models_are_flagged():
    labels = np.array([0] * 90 + [1] * 10)
    all_clean = classification_metrics(labels, np.full(100, 0.1))
    assert any(f.startswith("degenerate") for f in sanity_flags(all_clean))
    inverted = classification_metrics(labels, 1.0 - labels * 0.9 - 0.05)
    assert any(f.startswith("inverted") for f in sanity_flags(inverted))
    good = classification_metrics(labels, labels * 0.8 + 0.1)
    assert sanity_flags(good) == []


def test_bootstrap_interval_contains_the_point_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + rng.normal(0.35, 0.2, 300), 0, 1)
    first, again = bootstrap_intervals(labels, scores, 0.5, seed=3), bootstrap_intervals(labels, scores, 0.5, seed=3)
    assert first == again and first["resamples"] == 1000
    auc = classification_metrics(labels, scores)["roc_auc"]
    assert first["roc_auc"][0] < auc < first["roc_auc"][1]


def test_stored_curves_match_sklearn_on_their_grid():
    from toxiclf.evaluation.scores import curve_points

    curves = curve_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert len(curves["roc"]["fpr"]) == len(curves["roc"]["tpr"]) == 201
    assert curves["roc"]["tpr"][0] == 0.5 and curves["roc"]["tpr"][-1] == 1.0  # at fpr 0, only 0.8 is caught
    assert curves["pr"]["precision"][0] == 1.0 and curves["pr"]["precision"][-1] == pytest.approx(2 / 3, abs=1e-4)


def test_typical_comments_are_those_near_the_median_length():
    texts = ["a" * n for n in (1, 50, 52, 48, 400, 51)]
    assert sorted(map(len, typical_comments(texts, 3))) == [50, 51, 52]


def test_readme_section_is_replaced_between_markers(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    readme.write_text(f"intro\n{start}\nold table\n{end}\noutro\n")
    monkeypatch.setattr("research.report.summary_markdown", lambda results: "| new |\n")
    monkeypatch.setattr("research.report.load_results", lambda d: [])
    assert update_readme(readme, tmp_path)
    assert readme.read_text() == f"intro\n{start}\n| new |\n{end}\noutro\n"


def test_the_gpu_table_has_its_own_readme_section(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    cpu, gpu = (
        "<!-- results:start -->\ncpu\n<!-- results:end -->\n",
        "<!-- results-gpu:start -->\n{}<!-- results-gpu:end -->\n",
    )
    readme.write_text(cpu + gpu.format(""))
    monkeypatch.setattr("research.report.summary_markdown", lambda results: "| gpu |\n")
    monkeypatch.setattr("research.report.load_results", lambda d: [])
    assert update_readme(readme, tmp_path, "results-gpu")
    assert readme.read_text() == cpu + gpu.format("| gpu |\n")  # the CPU table untouched
    assert not update_readme(readme, tmp_path, "results-tpu")  # no such markers: nothing written


@pytest.mark.slow
def test_run_eval_writes_results_summary_and_plots(pipeline_outputs, tiny_dataset_dir, tmp_path):
    out, _ = pipeline_outputs
    results = tmp_path / "results"
    run_eval.main(["--dataset", str(tiny_dataset_dir), "--results-dir", str(results),
                   "--checkpoints", f"teacher={out / 'teacher'}", f"student-odd={out / 'student-odd'}",
                   f"lora={out / 'lora' / 'merged'}"])  # fmt: skip
    names = {"majority", "tfidf-logreg", "teacher", "student-odd", "lora"}
    assert {p.stem for p in results.glob("*.json")} == names | {"comparisons"}  # and the paired differences
    for name in names:
        r = json.loads((results / f"{name}.json").read_text())
        assert set(r) >= {"model", "method", "metrics", "cost", "provenance", "train_rows"}
        m = r["metrics"]
        for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "confusion_matrix"):
            assert key in m["threshold_0.5"] and key in m["threshold_validation"]
        assert np.sum(m["threshold_0.5"]["confusion_matrix"]) == 40  # the tiny test split
        assert m["bootstrap_95ci"]["resamples"] >= 1000
        assert r["provenance"]["eval_rows"] == {"test": 40, "validation": 20}
        if name != "majority":  # a constant costs next to nothing
            assert r["cost"]["latency_ms_batch1_median"] > 0 and r["cost"]["throughput_comments_per_s_batch32"] > 0
    odd = json.loads((results / "student-odd.json").read_text())
    assert odd["method"] == "distillation" and odd["train_rows"] == 64
    assert odd["provenance"]["training"]["teacher_layers"] == [0, 2, 4, 6, 8, 10]
    majority = json.loads((results / "majority.json").read_text())
    assert any(f.startswith("degenerate") for f in majority["metrics"]["flags"])
    summary = (results / "summary.md").read_text()
    assert all(f"| {name} |" in summary for name in names) and "| degenerate |" in summary
    for plot in ("roc.png", "pr.png", "confusion_matrices.png"):
        assert (results / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A later run adds its model; table and plots are rebuilt from all results files, old ones included.
    run_eval.main(["--dataset", str(tiny_dataset_dir), "--results-dir", str(results), "--no-baselines", "--no-cost",
                   "--checkpoints", f"student-even={out / 'student-even'}"])  # fmt: skip
    summary = (results / "summary.md").read_text()
    assert all(f"| {name} |" in summary for name in names | {"student-even"})
    assert "in 1 run(s) of run_eval.py" in summary  # the second run measured no cost


def test_scorings_apart_then_one_comparison_give_what_one_run_gives(pipeline_outputs, tiny_dataset_dir, tmp_path):
    # What a GPU phase does: each model scored by its own process (no comparisons, no summary), then one --compare-only.
    out, _ = pipeline_outputs
    common = ["--dataset", str(tiny_dataset_dir), "--no-baselines", "--no-cost"]
    models = [f"student-odd={out / 'student-odd'}", f"teacher={out / 'teacher'}"]
    run_eval.main([*common, "--results-dir", str(tmp_path / "together"), "--checkpoints", *models])
    apart = tmp_path / "apart"
    for model in models:
        run_eval.main([*common, "--results-dir", str(apart), "--checkpoints", model, "--no-comparisons"])
    assert not (apart / "comparisons.json").exists() and not (apart / "summary.md").exists()
    run_eval.main(["--dataset", str(tiny_dataset_dir), "--results-dir", str(apart), "--compare-only"])
    together, compared = (json.loads((d / "comparisons.json").read_text()) for d in (tmp_path / "together", apart))
    pairs = [(c["model"], c["against"]) for c in compared["comparisons"]]
    assert compared == together and pairs == [("student-odd", "teacher"), ("teacher", "student-odd")]
    assert "| student-odd |" in (apart / "summary.md").read_text()


@pytest.mark.slow
def test_a_fresh_checkpoint_scores_as_served_beside_its_pytorch_row(pipeline_outputs, tiny_dataset_dir, tmp_path):
    # What the CPU queue does for a fast-tier candidate: the same folder scored in PyTorch and as served (int8).
    out, _ = pipeline_outputs
    results, folder = tmp_path / "results", out / "student-odd"
    for name, backend in (("odd", "torch"), ("odd-int8", "onnx-int8")):
        run_eval.main(["--dataset", str(tiny_dataset_dir), "--results-dir", str(results), "--no-baselines",
                       "--no-cost", "--backend", backend, "--checkpoints", f"{name}={folder}"])  # fmt: skip
    torch_row, served = (json.loads((results / f"{n}.json").read_text()) for n in ("odd", "odd-int8"))
    assert (torch_row["backend"], served["backend"]) == ("torch", "onnx-int8")
    assert served["model_sha256"] == torch_row["model_sha256"]  # the same weights
    torch_scores, int8_scores = (np.load(results / "scores" / f"{n}.npy") for n in ("odd", "odd-int8"))
    assert len(int8_scores) == 40 and np.abs(int8_scores - torch_scores).max() < 0.05  # quantized, not another model


def test_bad_checkpoint_argument_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_eval.main(["--checkpoints", f"x={tmp_path}"])
    assert "holds no model" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_measures_every_backend_in_one_run(pipeline_outputs, tiny_dataset_dir, tmp_path, monkeypatch):
    from toxiclf.evaluation import bench as bench_module

    tiny_size_reference = {"hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 96}
    monkeypatch.setattr(bench_module, "SIZE_REFERENCE_CONFIG", tiny_size_reference)  # BERT-base's shape is slow
    out, _ = pipeline_outputs
    run_eval.main(["--bench", "--dataset", str(tiny_dataset_dir), "--results-dir", str(tmp_path),
                   "--teacher", str(out / "teacher"), "--student", str(out / "student-odd"),
                   "--fast-tier", str(out / "student-odd"), "--threads", "1"])  # fmt: skip
    bench = json.loads((tmp_path / "inference_bench.json").read_text())
    rows = {v["variant"]: v for v in bench["variants"]}
    assert list(rows) == ["teacher, PyTorch fp32", "student, PyTorch fp32", "student, ONNX Runtime fp32",
                          "student, ONNX Runtime int8, one text per pass (served)",
                          "student, ONNX Runtime int8, one 2-thread pass at a time",
                          "student, ONNX Runtime int8 as served before (skip-LayerNorm fused, one 2-thread pass at a "
                          "time)",
                          "student, ONNX Runtime int8, batched (batch-dependent)",
                          "fast tier (3 layers), ONNX Runtime int8, one text per pass (as served)",
                          "BERT-base size (speed only), PyTorch fp32", "BERT-base size (speed only), ONNX Runtime int8",
                          "TF-IDF + logistic regression (scikit-learn)"]  # fmt: skip
    assert bench["variants"][0]["throughput_vs_reference"] == 1.0 and bench["threads"] == 1
    before_row = rows["student, ONNX Runtime int8 as served before (skip-LayerNorm fused, one 2-thread pass at a time)"]
    assert before_row["checkpoint"] == f"{out / 'student-odd'}, its int8 graph built by export recipe 4"  # no scratch
    torch_auc, onnx_auc = rows["student, PyTorch fp32"]["roc_auc"], rows["student, ONNX Runtime fp32"]["roc_auc"]
    assert onnx_auc == pytest.approx(torch_auc, abs=1e-6)  # fp32 ONNX is the same network
    assert all(v["latency_ms_batch1_median"] > 0 for v in bench["variants"])
    served, before = rows[bench_module.SERVED], rows[bench_module.BEFORE]
    assert served["batch_dependence_max_abs"] < 1e-6  # a text's score never depends on its batch
    one_pass_at_a_time = rows["student, ONNX Runtime int8, one 2-thread pass at a time"]
    assert served["roc_auc"] == one_pass_at_a_time["roc_auc"]  # side-by-side passes: the same scores, sooner
    assert before["spearman_vs_fp32"] == pytest.approx(served["spearman_vs_fp32"], abs=0.02)  # LayerNorm fused or not
    assert before["model"] == "student-before" and before["batch_dependence_max_abs"] < 1e-6
    assert rows["student, ONNX Runtime fp32"]["spearman_vs_fp32"] == pytest.approx(1.0, abs=1e-6)
    assert rows["student, PyTorch fp32"]["decisions_flipped_vs_fp32"] == 0
    assert "spearman_vs_fp32" not in rows["teacher, PyTorch fp32"]
    size_reference = rows["BERT-base size (speed only), PyTorch fp32"]
    assert "roc_auc" not in size_reference and str(tiny_size_reference) in size_reference["checkpoint"]
    assert served["model_sha256"] == sha256_file(out / "student-odd" / "model.safetensors")  # which weights were timed
    assert "model_sha256" not in size_reference  # random weights
    tfidf = rows["TF-IDF + logistic regression (scikit-learn)"]  # speed only, fitted on a subset
    assert (
        "roc_auc" not in tfidf
        and tfidf["checkpoint"].startswith("fitted on ")
        and tfidf["throughput_comments_per_s_batch32"] > 0
    )
    ratio = bench["served_vs"]["BERT-base size (speed only), PyTorch fp32"]["throughput_ratio"]
    assert ratio == round(served["throughput_comments_per_s_batch32"]
                          / size_reference["throughput_comments_per_s_batch32"], 2)  # fmt: skip
    gemm = bench["gemm"]  # the roofline: this machine's GEMM rates and each variant's share of them
    assert gemm["peak_used"]["int8"] > 0 and gemm["peak_used"]["fp32"] > 0
    networks = [v for v in bench["variants"] if v["backend"] != "scikit-learn"]
    assert all(v["achieved_gmacs_per_s"] > 0 and v["efficiency_vs_gemm"] > 0 for v in networks)
    assert bench["machine"]["cpu_vector_flags"] is not None
    assert "BERT-base size" in bench_module.bench_markdown(bench)


def test_bench_without_a_teacher_leaves_its_row_out(tiny_classifier_dir, tiny_dataset_dir, tmp_path, monkeypatch):
    asked = {}

    def run_benchmark(checkpoints, *args, **kwargs):
        asked.update(checkpoints)
        return {"variants": [], "threads": 1, "machine": {"cpu": "x"}, "roc_auc_rows": 0, "reference": "-"}

    from toxiclf.evaluation.commands import bench

    monkeypatch.setattr(bench, "run_benchmark", run_benchmark)
    run_eval.main(["--bench", "--no-teacher", "--teacher", str(tmp_path / "absent"), "--no-fast-tier",
                   "--student", str(tiny_classifier_dir), "--dataset", str(tiny_dataset_dir),
                   "--results-dir", str(tmp_path)])  # fmt: skip
    assert asked == {"student": tiny_classifier_dir}
    command = json.loads((tmp_path / "inference_bench.json").read_text())["command"]
    assert command.endswith("--no-teacher --no-fast-tier") and "--teacher " not in command
    assert "--fast-tier " not in command

    asked.clear()  # by default the shipped fast tier gets its row, where it is here
    monkeypatch.setattr(bench, "FAST_MODEL_DIR", tiny_classifier_dir)
    run_eval.main(["--bench", "--no-teacher", "--student", str(tiny_classifier_dir),
                   "--dataset", str(tiny_dataset_dir), "--results-dir", str(tmp_path)])  # fmt: skip
    assert asked == {"student": tiny_classifier_dir, "fast": tiny_classifier_dir}
    command = json.loads((tmp_path / "inference_bench.json").read_text())["command"]
    assert f"--fast-tier {tiny_classifier_dir}" in command and command.endswith("--no-teacher")


def test_a_calibrated_model_gets_a_before_and_after_report(pipeline_outputs, tiny_dataset_dir, tmp_path):
    import shutil

    out, _ = pipeline_outputs
    model = tmp_path / "calibrated"
    shutil.copytree(out / "student-odd", model)
    (model / "calibration.json").write_text(json.dumps({"backends": {"torch": {"method": "temperature",
                                                                               "temperature": 2.0}}}))  # fmt: skip
    results = tmp_path / "results"
    run_eval.main(["--dataset", str(tiny_dataset_dir), "--results-dir", str(results), "--no-baselines", "--no-cost",
                   "--checkpoints", f"shipped={model}", f"plain={out / 'student-odd'}"])  # fmt: skip
    report = json.loads((results / "calibration.json").read_text())
    assert set(report) == {"shipped"}  # only models that have a calibration
    before, after = report["shipped"]["roc_auc_before_after"]
    assert before == pytest.approx(after, abs=1e-12) and report["shipped"]["map"]["temperature"] == 2.0
    plain = json.loads((results / "plain.json").read_text())["metrics"]["calibration"]
    # the calibrated model's "before" is the plain model's served score: same weights, no calibration
    assert report["shipped"]["before"]["brier"] == pytest.approx(plain["uncalibrated"]["brier"], abs=1e-6)
    assert (results / "calibration.png").read_bytes()[:4] == b"\x89PNG"
