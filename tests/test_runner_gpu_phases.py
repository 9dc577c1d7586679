"""research.runner's GPU phases with the step's Python stubbed out: what each phase runs, with which flags."""

import json
import subprocess
import sys

from research.experiments import SMALL_PLAN
from toxiclf.paths import REPO_ROOT

# Records each call; a training "finishes" by writing run_config.json and model.safetensors.
STUB = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
args=("$@")
for i in "${!args[@]}"; do
  if [ "${args[$i]}" = --output-dir ]; then
    folder=${args[$((i + 1))]}
    mkdir -p "$folder" && echo {} > "$folder/run_config.json" && echo "$folder" > "$folder/model.safetensors"
  fi
done
"""


def run_phase(tmp_path, *argv):
    stub = tmp_path / "python-stub"
    stub.write_text(STUB)
    stub.chmod(0o755)
    command = [
        sys.executable,
        "-m",
        "research.runner",
        "gpu",
        *argv,
        "--run-dir",
        str(tmp_path / "run"),
        "--results-dir",
        str(tmp_path / "results"),
        "--pack-dir",
        str(tmp_path / "pack"),
        "--python",
        str(stub),
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, env={"CALLS": str(tmp_path / "calls"), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    return result, calls


def test_the_small_phase_trains_the_students_on_their_cpu_recipe_scores_each_apart_and_packs_results_alone(tmp_path):
    result, calls = run_phase(tmp_path, "small", "--only", SMALL_PLAN[0], SMALL_PLAN[1])
    assert result.returncode == 0, result.stdout + result.stderr
    trainings = [call for call in calls if "--output-dir" in call]
    assert len(trainings) == 2 and all(name in " ".join(trainings) for name in SMALL_PLAN[:2])
    assert all("--num-train-epochs 1" in call and "--save-steps 200" in call for call in trainings)
    assert not any("--per-device-train-batch-size 128" in call for call in trainings)  # not the 2-epoch GPU recipe
    scorings = [call for call in calls if call.startswith("run_eval.py")]
    assert len(scorings) == 2 and all("--no-comparisons" in call for call in scorings)
    assert sorted(call.split("--checkpoints ")[1].split()[0].split("=")[0] for call in scorings) == sorted(
        SMALL_PLAN[:2]
    )
    packing = next(call for call in calls if " pack " in f" {call} ")
    assert "--no-model" in packing and "--model " not in packing
    # the shipped model's committed results are there to be compared with, not scored again
    committed = json.loads((REPO_ROOT / "results" / "shipped.json").read_text())
    assert json.loads((tmp_path / "results" / "shipped.json").read_text()) == committed
    assert (tmp_path / "results" / "scores" / "shipped.npy").exists()
    assert "run_eval.py --compare-only --results-dir" in result.stdout


def test_other_phases_keep_the_gpu_recipe_and_one_scoring_of_all(tmp_path):
    result, calls = run_phase(tmp_path, "debias")
    assert result.returncode == 0, result.stdout + result.stderr
    training = next(call for call in calls if "--output-dir" in call)
    assert "--num-train-epochs 2" in training and "--per-device-train-batch-size 128" in training
    scoring = next(call for call in calls if call.startswith("run_eval.py"))
    assert "--no-comparisons" not in scoring and "minilm-l6-debiased=" in scoring
    assert "--model minilm-l6-debiased" in next(call for call in calls if " pack " in f" {call} ")
    assert not (tmp_path / "results" / "shipped.json").exists()


def test_only_a_name_of_the_phase_is_taken(tmp_path):
    result, calls = run_phase(tmp_path, "small", "--only", "student-3l-135-kd", "student-odd")
    assert result.returncode == 2 and not calls
    assert "--only: student-odd is in none of the phases small" in result.stderr.strip().splitlines()[-1]
