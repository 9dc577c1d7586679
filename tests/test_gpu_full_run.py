"""The GPU run's dry run on CPU: bundle built and installed, every phase on 64 rows, results packed and unpacked.

This is what keeps scripts/device_bundle.py, scripts/gpu_full_run.sh (research.runner) and scripts/gpu_results.py
working between GPU loans: the same scripts, with --dry-run only cutting rows, epochs and sequence length.
"""

import json
import os
import platform
import re
import subprocess
import sys

import pytest

from toxiclf.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.embedded]

MODELS = (
    "teacher",
    "student-odd",
    "student-even",
    "student-odd-ce",
    "lora",
    "minilm-l6",
    "student-odd-ens",
    "minilm-l6-ens",
    "minilm-l6-debiased",
)


def test_dry_run_trains_evaluates_and_packs_every_model(tmp_path):
    scripts = REPO_ROOT / "scripts"
    bundle = tmp_path / "gpu_bundle"
    python_version = ".".join(platform.python_version_tuple()[:2])
    subprocess.run(
        [
            sys.executable,
            str(scripts / "device_bundle.py"),
            "build",
            "--bundle",
            str(bundle),
            "--python-version",
            python_version,
            "--xz-preset",
            "0",
            "--part-limit-mib",
            "100",  # part 3 holds the shipped weights: under 60 MiB at the default preset, not at 0
        ],
        check=True,
    )
    manifests = [json.loads((bundle / part / "MANIFEST.json").read_text()) for part in ("part1", "part2")]
    assert all(m["bytes"] < 60 * 2**20 for m in manifests)
    students_part = json.loads((bundle / "part3" / "MANIFEST.json").read_text())["files"]
    assert students_part["shipped-model.safetensors.xz"]["restores"] == "model/model.safetensors"

    env = {
        **os.environ,
        "PY": sys.executable,
        "BUNDLE": str(bundle),
        "RUN_DIR": str(tmp_path / "run"),
        "PACK_DIR": str(tmp_path / "pack"),
    }

    def phases(*names, **extra_env):
        return subprocess.run(
            ["bash", str(scripts / "gpu_full_run.sh"), "--dry-run", *names],
            cwd=REPO_ROOT,
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=900,
        )

    not_a_number = phases("teacher", TRAIN_UNTIL_S="ten minutes")
    assert not_a_number.returncode == 2 and "TRAIN_UNTIL_S must be a whole number" in not_a_number.stderr
    refused = phases("ensemble")
    assert refused.returncode == 1 and "ensemble needs the teacher" in refused.stderr
    too_late = phases("teacher", TRAIN_UNTIL_S="0")  # a call whose time is up starts no training
    assert too_late.returncode == 0 and "skip teacher: past the time limit" in too_late.stdout
    assert not (tmp_path / "run" / "teacher").exists()

    # The order of a short loan (teacher, then ensemble), then the rest: evaluate scores only what is not scored.
    stale = tmp_path / "run" / "results" / "minilm-l6.json"  # an earlier loan's result, of other weights
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    run = phases("teacher", "ensemble", "train", "evaluate", "debias")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "evaluation-teacher" in run.stdout and "evaluation-student-odd" in run.stdout
    assert "skip minilm-l6" in run.stdout
    packed = json.loads((tmp_path / "pack" / "pack.json").read_text())  # debias packs its model, not the best
    assert packed["student"].endswith("minilm-l6-debiased") and packed["results_file"] == "minilm-l6-debiased.json"
    timed = dict(re.findall(r"^== ([\w -]+): (\d+) s", run.stdout, flags=re.MULTILINE))  # seconds per step
    assert set(MODELS) | {"soft labels", "pack"} <= set(timed)
    for model in MODELS:
        result = json.loads((tmp_path / "run" / "results" / f"{model}.json").read_text())
        assert result["train_rows"] == 64 and 0 <= result["metrics"]["threshold_validation"]["roc_auc"] <= 1

    here = tmp_path / "here"
    unpack = subprocess.run(
        [
            sys.executable,
            str(scripts / "gpu_results.py"),
            "unpack",
            str(tmp_path / "pack"),
            "--results-dir",
            str(here / "results"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert unpack.returncode == 0, unpack.stderr
    assert len(list((here / "results").glob("*.json"))) >= len(MODELS)

    # The smaller students' replicate (a CE-only student: a KD one needs the whole recipe's rows for its soft
    # labels), with part 3 alone as on a bare machine: trained, scored apart, the results packed alone.
    students = tmp_path / "students_bundle"
    students.mkdir()
    (students / "part3").symlink_to(bundle / "part3")
    small = phases("small", "--only", "student-2l-12-ce", BUNDLE=str(students), PACK_DIR=str(tmp_path / "pack-small"))
    assert small.returncode == 0, small.stdout + small.stderr
    assert "evaluation-student-2l-12-ce" in small.stdout and "--compare-only" in small.stdout
    assert json.loads((tmp_path / "pack-small" / "pack.json").read_text())["student"] is None
    result = json.loads((tmp_path / "run" / "results" / "student-2l-12-ce.json").read_text())
    assert result["provenance"]["training"]["args"]["student_layers"] == [1, 2]
