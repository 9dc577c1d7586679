"""run_eval.py's subcommands: each --help lists its own flags only, the old flag spellings reach the same code with
the same arguments, and the preprocessing ablation on a tiny model."""

import json
import re
import shutil

import numpy as np
import pytest

import run_eval
from toxiclf.evaluation import cli

# The flags that belong to one subcommand alone; no other subcommand's --help may list them.
OWN_FLAGS = {
    "score": {"--device", "--baselines-only", "--no-cost", "--no-comparisons"},
    "compare": set(),
    "report": set(),
    "bench": {"--teacher", "--no-teacher", "--student", "--fast-tier", "--no-fast-tier", "--threads"},
    "audit": set(),
    "functional": {"--normalise", "--segment-joined-words", "--restore-spelling"},
    "ablation": {"--model", "--before-tree"},
}
# The flags each subcommand shares with some others.
SHARED_FLAGS = {
    "score": {"--checkpoints", "--backend", "--dataset", "--no-baselines", "--bootstrap-resamples", "--readme-section"},
    "compare": {"--dataset", "--results-dir", "--bootstrap-resamples", "--update-readme"},
    "report": {"--results-dir", "--update-readme", "--readme-section"},
    "bench": {"--dataset", "--max-eval-samples", "--update-readme"},
    "audit": {
        "--checkpoints",
        "--backend",
        "--batch-size",
        "--max-eval-samples",
        "--no-baselines",
        "--baseline-max-train-samples",
    },  # fmt: skip
    "functional": {"--checkpoints", "--backend", "--no-baselines", "--update-readme"},
    "ablation": {"--dataset", "--max-eval-samples", "--results-dir", "--backend"},
}
# Flags a subcommand must not take though another does (the old mode flags are taken by none).
NOT_TAKEN = {
    "report": {"--dataset", "--checkpoints", "--bootstrap-resamples"},
    "compare": {"--checkpoints", "--backend"},
    "bench": {"--checkpoints", "--backend", "--readme-section"},
    "audit": {"--update-readme", "--bootstrap-resamples"},
    "functional": {"--bootstrap-resamples", "--readme-section"},
    "ablation": {"--checkpoints", "--update-readme"},
}
OLD_MODE_FLAGS = {"--bench", "--bias-audit", "--functional", "--report-only", "--compare-only"}


def listed_flags(command: str, capsys) -> set[str]:
    with pytest.raises(SystemExit) as exit_:
        run_eval.main([command, "--help"])
    assert exit_.value.code == 0
    return set(re.findall(r"^\s+(--[a-z-]+)", capsys.readouterr().out, flags=re.MULTILINE)) - {"--help"}


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_each_subcommand_s_help_lists_its_own_flags_only(command, capsys):
    flags = listed_flags(command, capsys)
    assert OWN_FLAGS[command] | SHARED_FLAGS[command] <= flags
    others = set().union(*(own for name, own in OWN_FLAGS.items() if name != command))
    assert not flags & (others | NOT_TAKEN.get(command, set()) | OLD_MODE_FLAGS)


def test_the_top_level_help_names_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        run_eval.main(["--help"])
    out = capsys.readouterr().out
    assert all(re.search(rf"^\s+{name}\s", out, flags=re.MULTILINE) for name in cli.COMMANDS)


def test_a_subcommand_refuses_another_mode_s_flag(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        run_eval.main(["report", "--checkpoints", f"x={tmp_path}"])
    assert exit_.value.code == 2 and "unrecognized arguments: --checkpoints" in capsys.readouterr().err


@pytest.fixture
def calls(monkeypatch):
    """Each subcommand's `run` replaced by a recorder: (subcommand, its arguments) of each call."""
    made = []
    for name, (module, _) in cli.COMMANDS.items():
        monkeypatch.setattr(module, "run", lambda args, lab, name=name: made.append((name, vars(args).copy())))
    return made


def old_and_new(tiny: str, results: str) -> list[tuple[list[str], list[str], str]]:
    """(old argv, new argv, old mode flag or '') pairs as README, docs and scripts have written them."""
    return [
        (["--checkpoints", f"shipped={tiny}", "--backend", "onnx-int8", "--no-baselines"],
         ["score", "--checkpoints", f"shipped={tiny}", "--backend", "onnx-int8", "--no-baselines"], ""),
        (["--bench", "--no-teacher", "--student", tiny, "--no-fast-tier", "--max-eval-samples", "2000",
          "--update-readme"],
         ["bench", "--no-teacher", "--student", tiny, "--no-fast-tier", "--max-eval-samples", "2000",
          "--update-readme"], "--bench"),
        (["--bias-audit", "--backend", "onnx-int8", "--checkpoints", f"shipped={tiny}", f"fast={tiny}"],
         ["audit", "--backend", "onnx-int8", "--checkpoints", f"shipped={tiny}", f"fast={tiny}"], "--bias-audit"),
        (["--functional", "--normalise", "--restore-spelling", "--backend", "onnx-int8", "--no-baselines",
          "--checkpoints", f"shipped={tiny}", "--update-readme"],
         ["functional", "--normalise", "--restore-spelling", "--backend", "onnx-int8", "--no-baselines",
          "--checkpoints", f"shipped={tiny}", "--update-readme"], "--functional"),
        (["--report-only", "--update-readme", "--results-dir", results, "--readme-section", "results-gpu"],
         ["report", "--update-readme", "--results-dir", results, "--readme-section", "results-gpu"], "--report-only"),
        (["--compare-only", "--results-dir", results], ["compare", "--results-dir", results], "--compare-only"),
        (["--baselines-only", "--no-cost"], ["score", "--baselines-only", "--no-cost"], ""),
    ]  # fmt: skip


def test_old_flags_dispatch_to_the_same_subcommand_with_the_same_arguments(calls, capsys, tiny_classifier_dir,
                                                                           tmp_path):  # fmt: skip
    from pathlib import Path

    audited = []
    for old, new, mode_flag in old_and_new(str(tiny_classifier_dir), str(tmp_path)):
        calls.clear()
        run_eval.main(new)
        assert capsys.readouterr().err == ""  # the new spelling: no note
        run_eval.main(old)
        note = capsys.readouterr().err.strip().splitlines()
        (new_command, new_args), (old_command, old_args) = calls
        assert old_command == new_command == new[0]
        # the old parser takes every mode's flags: those the subcommand has are the same values
        assert {k: old_args[k] for k in new_args} == new_args
        if mode_flag:
            assert note == [f"run_eval.py: {mode_flag} is deprecated; use `run_eval.py {new_command}`"]
        else:
            assert note == []
        audited += [args["checkpoints"] for command, args in calls if command == "audit"]
    checkpoints = {"shipped": Path(tiny_classifier_dir), "fast": Path(tiny_classifier_dir)}
    assert audited == [checkpoints, checkpoints]  # NAME=PATH parsed alike


def test_no_subcommand_and_no_flag_is_score_with_the_found_checkpoints(calls, monkeypatch, tiny_classifier_dir,
                                                                       tmp_path):  # fmt: skip
    found = {"shipped": tiny_classifier_dir, "absent": tmp_path / "absent"}
    monkeypatch.setattr(run_eval, "DEFAULT_CHECKPOINTS", found)
    run_eval.main([])
    assert calls[0][0] == "score" and calls[0][1]["checkpoints"] == {"shipped": tiny_classifier_dir}


def test_the_old_spelling_still_takes_flags_its_mode_ignores(calls, tmp_path):
    """Before the subcommands every flag was taken in every mode; scripts may pass one that a mode ignores."""
    run_eval.main(["--report-only", "--dataset", "embedded", "--no-cost", "--results-dir", str(tmp_path)])
    assert calls[0][0] == "report" and calls[0][1]["results_dir"] == tmp_path


def test_checks_still_apply_to_each_spelling(capsys):
    for argv in (["score", "--max-eval-samples", "5"], ["--max-eval-samples", "5"], ["ablation", "--max-eval-samples",
                                                                                   "5"]):  # fmt: skip
        with pytest.raises(SystemExit):
            run_eval.main(argv)
        assert "--max-eval-samples must be at least 10" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_eval.main(["score", "--baselines-only", "--no-baselines"])
    assert "--baselines-only takes neither" in capsys.readouterr().err


@pytest.fixture
def normalising_model(tmp_path, tiny_classifier_dir):
    """The tiny classifier asking for one preprocessing step, as a shipped folder can."""
    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model, ignore=shutil.ignore_patterns("onnx"))
    (model / "preprocessing.json").write_text(json.dumps({"normalise_obfuscation": True}))
    return model


def test_the_ablation_weighs_each_step_on_the_whole_test_split(normalising_model, tiny_dataset_dir, tmp_path):
    from sklearn.metrics import roc_auc_score

    from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN, load_splits
    from toxiclf.evaluation.functional_suite import load_suite
    from toxiclf.inference.classifier import load_classifier

    results = tmp_path / "results"
    run_eval.main(["ablation", "--model", str(normalising_model), "--backend", "torch",
                   "--dataset", str(tiny_dataset_dir), "--results-dir", str(results)])  # fmt: skip
    record = json.loads((results / "preprocessing_ablation.json").read_text())
    test = load_splits(str(tiny_dataset_dir))["test"]
    assert record["test_rows"] == len(test) and record["max_eval_samples"] is None  # the whole split by default
    assert record["backend"] == "torch" and record["threshold"] == 0.5
    assert record["suite"]["cases"] == len(load_suite())
    variants = record["variants"]
    assert list(variants) == ["served", "without read_unicode", "without normalise_obfuscation", "none"]
    assert variants["served"]["steps"] == ["normalise_obfuscation"] and variants["served"]["read_unicode"] is True
    assert variants["without normalise_obfuscation"]["steps"] == [] and variants["none"]["read_unicode"] is False
    # "served" is the folder as load_classifier serves it: its ROC-AUC is that of the classifier's own scores
    served = load_classifier(normalising_model, "torch").scores(test[TEXT_COLUMN])
    expected = roc_auc_score(np.array(test[LABEL_COLUMN]), served)
    assert variants["served"]["test_roc_auc"] == pytest.approx(expected, abs=1e-6)
    assert record["command"] == f"python run_eval.py ablation --model {normalising_model} --backend torch"


def test_the_ablation_records_a_cut_test_split(normalising_model, tiny_dataset_dir, tmp_path):
    run_eval.main(["ablation", "--model", str(normalising_model), "--backend", "torch", "--max-eval-samples", "12",
                   "--dataset", str(tiny_dataset_dir), "--results-dir", str(tmp_path)])  # fmt: skip
    record = json.loads((tmp_path / "preprocessing_ablation.json").read_text())
    assert record["test_rows"] == 12 and record["max_eval_samples"] == 12
    assert record["command"].endswith("--max-eval-samples 12")


def test_the_ablation_refuses_a_folder_without_a_model(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_eval.main(["ablation", "--model", str(tmp_path)])
    assert "holds no model" in capsys.readouterr().err
