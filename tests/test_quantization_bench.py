"""scripts/quantization_bench.py: dynamic against static int8, one text per pass and batched, on a tiny model."""

import hashlib
import json
import subprocess
import sys

import pytest

from toxiclf.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # runs the script end to end (ONNX export, two quantizations)


def folder_digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_each_graph_is_timed_both_ways_and_its_batch_dependence_measured(tmp_path, tiny_classifier_dir,
                                                                          tiny_dataset_dir):  # fmt: skip
    before = folder_digest(tiny_classifier_dir)
    finished = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "quantization_bench.py"), "--model", str(tiny_classifier_dir),
         "--dataset", str(tiny_dataset_dir), "--comments", "14", "--calibration", "6", "--threads", "1",
         "--results-dir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    result = json.loads((tmp_path / "quantization.json").read_text())
    rows = {row["graph"]: row for row in result["rows"]}
    recipe_4 = "dynamic int8, skip-LayerNorm fused (recipe 4)"
    assert list(rows) == ["fp32", "dynamic int8 (served)", "static int8 (QDQ)", recipe_4]
    # the same weights and quantization, the residual LayerNorm fused or not: the same ranking up to float order
    assert rows[recipe_4]["spearman_vs_fp32"] == pytest.approx(
        rows["dynamic int8 (served)"]["spearman_vs_fp32"], abs=0.05
    )
    assert rows["dynamic int8 (served)"]["one_per_pass_vs_served"] == 1.0
    assert rows["fp32"]["spearman_vs_fp32"] == 1.0
    assert rows["fp32"]["batch_dependence_max_abs_margin"] < 1e-4  # padding is masked: batching changes nothing
    assert rows["static int8 (QDQ)"]["batch_dependence_max_abs_margin"] < 1e-4  # fixed scales: nor here
    assert all(row["comments_per_s_one_per_pass"] > 0 and row["comments_per_s_batched"] > 0 for row in rows.values())
    assert "| static int8 (QDQ) |" in finished.stdout
    from toxiclf.provenance import cpu_vector_flags

    assert result["cpu_vector_flags"] == cpu_vector_flags()  # int8 speed and arithmetic depend on them (VNNI)
    assert folder_digest(tiny_classifier_dir) == before  # the model folder is copied, never written


def test_a_folder_without_a_model_is_one_line(tmp_path):
    finished = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "quantization_bench.py"), "--model",
                               str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True)  # fmt: skip
    assert finished.returncode == 1 and finished.stderr.strip() == f"error: {tmp_path} holds no model (no config.json)"
