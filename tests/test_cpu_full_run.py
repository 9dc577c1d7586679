"""scripts/cpu_full_run.sh: step order, skipping finished steps, resuming after a failure (python stubbed out)."""

import os
import subprocess
import time

import pytest

from research.experiments import SMALL_PLAN
from toxiclf.paths import REPO_ROOT

STUB = """#!/usr/bin/env bash
# Records each call; a training call "finishes" by writing run_config.json, a call writing a file under $OUT by
# writing it; FAIL_ON makes one step fail.
echo "$*" >> "$CALLS"
if [ -n "${FAIL_ON:-}" ] && [[ "$*" == *"$FAIL_ON"* ]]; then exit 3; fi
args=("$@")
for i in "${!args[@]}"; do
  if [ "${args[$i]}" = --output-dir ]; then
    folder=${args[$((i + 1))]}
    mkdir -p "$folder" && echo {} > "$folder/run_config.json"
  fi
  if [ "${args[$i]}" = --output ] && [[ "${args[$((i + 1))]}" == "$OUT"/* ]]; then
    touch "${args[$((i + 1))]}"
  fi
done
"""


def run_script(tmp_path, **env):
    stub = tmp_path / "python-stub"
    stub.write_text(STUB)
    stub.chmod(0o755)
    (tmp_path / "results").mkdir(exist_ok=True)
    environment = {**os.environ, "PY": str(stub), "OUT": str(tmp_path / "out"), "CALLS": str(tmp_path / "calls"),
                   "RESULTS_DIR": str(tmp_path / "results"), **env}  # fmt: skip
    script = REPO_ROOT / "scripts" / "cpu_full_run.sh"
    # --next-step runs in the foreground, as the background runner does after each step.
    return subprocess.run(["bash", str(script), "--next-step"], cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def output_of(call: str) -> str:
    return call.split("--output-dir ")[1].split()[0].split("/")[-1] if "--output-dir " in call else ""


def calls(tmp_path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_steps_run_in_order_and_a_rerun_skips_them(tmp_path):
    result = run_script(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    made = calls(tmp_path)
    trained = [output_of(call) for call in made if "--output-dir" in call]
    assert trained == ["teacher", "student-even", "lora", "student-odd-ce", *SMALL_PLAN]
    even = next(call for call in made if output_of(call) == "student-even")
    assert "--layers even" in even and "/teacher" in even and "--save-steps 400" in even  # the script's default
    # the smaller students' recipe fixes its checkpoint steps (which checkpoint is kept depends on them)
    assert all("--save-steps 200" in call for call in made if output_of(call) in SMALL_PLAN)
    ablation = next(call for call in made if output_of(call) == "student-odd-ce")
    assert "--layers odd" in ablation and "--alpha-kl 0 --alpha-cos 0" in ablation
    # each model is scored right after it is trained, without the baselines (they are committed)
    scored = [call for call in made if call.startswith("run_eval.py")]
    # the smaller students (fast-tier candidates) a second time as served, ONNX int8, under NAME-int8
    served = [f"{name}{suffix}" for name in SMALL_PLAN for suffix in ("", "-int8")]
    assert [call.split("--checkpoints ")[1].split()[0].split("=")[0] for call in scored] == [
        "student-even", "lora", "student-odd-ce", *served]  # fmt: skip
    assert all("--no-baselines" in call for call in scored) and scored[1].split()[2].endswith("/lora/merged")
    assert [call.endswith("--backend onnx-int8") for call in scored] == [False] * 3 + [False, True] * len(SMALL_PLAN)
    int8 = next(call for call in scored if "-int8=" in call)
    assert int8.split()[2].split("=")[1].endswith("/" + SMALL_PLAN[0])  # the same folder as its PyTorch scoring
    assert made.index(scored[0]) == made.index(even) + 1
    assert "all steps finished" in result.stdout
    before = len(made)
    again = run_script(tmp_path)
    assert again.returncode == 0 and len(calls(tmp_path)) == before
    # each model's training and evaluation(s); the teacher is not even looked at: no model left to train copies it
    assert again.stdout.count("== skip") == 2 * 3 + 3 * len(SMALL_PLAN) and "teacher" not in again.stdout


def test_a_failed_step_stops_the_run_and_a_rerun_resumes_there(tmp_path):
    failed = run_script(tmp_path, FAIL_ON="--layers even --teacher")
    assert failed.returncode != 0
    assert output_of([c for c in calls(tmp_path) if "--output-dir" in c][-1]) == "student-even"
    (tmp_path / "calls").unlink()
    resumed = run_script(tmp_path)
    assert resumed.returncode == 0
    assert "skip teacher" in resumed.stdout
    assert calls(tmp_path)[0].startswith("run_distill.py --layers even")


def test_a_second_run_is_refused_while_one_holds_the_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(["flock", str(out / "cpu_full_run.lock"), "sleep", "30"])
    try:
        time.sleep(0.5)
        result = run_script(tmp_path)
        assert result.returncode == 1 and "Another cpu_full_run.sh is running" in result.stdout
        assert calls(tmp_path) == []
    finally:
        holder.kill()


@pytest.mark.parametrize("name", ["cpu_full_run.sh"])
def test_the_script_is_valid_bash(name):
    subprocess.run(["bash", "-n", str(REPO_ROOT / "scripts" / name)], check=True)


@pytest.mark.parametrize("completed_before", [True, False])
def test_a_round_whose_best_model_is_shipped_refreshes_only_audit_and_tables(tmp_path, completed_before):
    import hashlib

    stub = tmp_path / "python-stub"
    stub.write_text('#!/usr/bin/env bash\necho "$*" >> "$CALLS"\n[[ "$*" == *--unless-shipped* ]] && exit 3\nexit 0\n')
    stub.chmod(0o755)
    stamp = tmp_path / "stamp"
    if completed_before:
        stamp.write_text(hashlib.sha256((REPO_ROOT / "model" / "model.safetensors").read_bytes()).hexdigest() + "\n")
    environment = {**os.environ, "PY": str(stub), "CALLS": str(tmp_path / "calls"), "SHIP_STAMP": str(stamp)}
    result = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "ship_round.sh"), "--teacher", "t", "a=b"],
                            cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    made = calls(tmp_path)
    assert any(call.startswith("run_eval.py audit ") and call.endswith("a=b") for call in made)
    assert any(call.startswith("run_eval.py report ") for call in made)
    assert any("--refresh-card" in call for call in made)
    refreshed = any(call.startswith("run_eval.py bench ") for call in made)
    refreshed = refreshed and any("load_test.py" in call for call in made)
    assert refreshed is not completed_before  # a round stopped half-way is completed, not skipped


def test_models_whose_results_are_committed_are_not_trained_again_nor_the_teacher_without_need(tmp_path):
    (tmp_path / "results").mkdir()
    for name in ("student-even", "student-odd-ce", *SMALL_PLAN):
        (tmp_path / "results" / f"{name}.json").write_text("{}")
    result = run_script(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [output_of(call) for call in calls(tmp_path) if "--output-dir" in call] == ["lora"]  # no teacher needed
    assert "skip student-even (scored: " in result.stdout


def test_a_model_counts_as_scored_only_by_results_of_the_weights_it_holds(tmp_path):
    import json

    from research.runner import scored_since_training
    from toxiclf.paths import sha256_file

    run_dir, results = tmp_path / "run", tmp_path / "results"
    results.mkdir()
    assert scored_since_training("student-even", run_dir, results) is None  # not trained
    model = run_dir / "student-even"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights of this training")
    (model / "run_config.json").write_text("{}")
    assert scored_since_training("student-even", run_dir, results) is False  # trained, never scored
    (results / "student-even.json").write_text(json.dumps({"model_sha256": "0" * 64}))  # an earlier loan's
    assert scored_since_training("student-even", run_dir, results) is False
    (results / "student-even.json").write_text(json.dumps({"model_sha256": sha256_file(model / "model.safetensors")}))
    assert scored_since_training("student-even", run_dir, results) is True
