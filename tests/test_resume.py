"""A training run stopped after a mid-epoch checkpoint resumes there and ends where an uninterrupted run ends."""

import json

import pytest
import torch
from safetensors.torch import load_file

import run_finetune
from toxiclf.training.common import ProgressLog

pytestmark = pytest.mark.slow


class Stopped(Exception):
    """Stands in for the process being killed."""


def flags(model_dir, dataset_dir, output_dir):
    return ["--model", str(model_dir), "--dataset", str(dataset_dir), "--output-dir", str(output_dir),
            "--max-train-samples", "64", "--max-eval-samples", "20", "--per-device-train-batch-size", "8",
            "--num-train-epochs", "1", "--save-steps", "3", "--learning-rate", "1e-3"]  # fmt: skip


def kill_after_first_checkpoint(monkeypatch, argv):
    """Run until the first checkpoint is complete, then stop as a killed process would."""
    on_save = ProgressLog.on_save

    def save_then_die(self, *args, **kwargs):
        on_save(self, *args, **kwargs)
        raise Stopped

    monkeypatch.setattr(ProgressLog, "on_save", save_then_die)
    with pytest.raises(Stopped):
        run_finetune.main(argv)
    monkeypatch.setattr(ProgressLog, "on_save", on_save)


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_the_same(tmp_path, tiny_model_dir, tiny_dataset_dir,
                                                                    monkeypatch):  # fmt: skip
    run_finetune.main(flags(tiny_model_dir, tiny_dataset_dir, tmp_path / "whole"))
    kill_after_first_checkpoint(monkeypatch, flags(tiny_model_dir, tiny_dataset_dir, tmp_path / "killed"))
    assert [p.name for p in (tmp_path / "killed").glob("checkpoint-*")] == ["checkpoint-3"]
    first_piece = json.loads((tmp_path / "killed" / "checkpoint-3" / "train_seconds.json").read_text())
    run_finetune.main(flags(tiny_model_dir, tiny_dataset_dir, tmp_path / "killed"))

    record = json.loads((tmp_path / "killed" / "run_config.json").read_text())
    assert record["train_seconds"] > first_piece["train_seconds"] > 0  # both pieces counted

    whole = load_file(tmp_path / "whole" / "model.safetensors")
    resumed = load_file(tmp_path / "killed" / "model.safetensors")
    assert whole.keys() == resumed.keys()
    for name in whole:
        torch.testing.assert_close(resumed[name], whole[name], rtol=1e-4, atol=1e-5, msg=name)


def test_resuming_with_other_flags_is_refused(tmp_path, tiny_model_dir, tiny_dataset_dir, monkeypatch):
    argv = flags(tiny_model_dir, tiny_dataset_dir, tmp_path / "run")
    kill_after_first_checkpoint(monkeypatch, argv)
    with pytest.raises(SystemExit, match=r"checkpoints of another run \(--learning-rate 0.001 -> 0.002\)"):
        run_finetune.main([*argv, "--learning-rate", "2e-3"])
    assert [p.name for p in (tmp_path / "run").glob("checkpoint-*")] == ["checkpoint-3"]


def test_checkpoints_written_before_a_flag_existed_resume_when_it_is_left_off(
    tmp_path, tiny_model_dir, tiny_dataset_dir, monkeypatch
):
    argv = flags(tiny_model_dir, tiny_dataset_dir, tmp_path / "run")
    kill_after_first_checkpoint(monkeypatch, argv)
    recorded = tmp_path / "run" / "run_args.json"
    older = {k: v for k, v in json.loads(recorded.read_text()).items() if k not in ("noise_share", "davidson")}
    recorded.write_text(json.dumps(older))  # as an earlier release wrote it
    with pytest.raises(SystemExit, match=r"another run \(--noise-share None -> 0.5\)"):
        run_finetune.main([*argv, "--noise-share", "0.5"])  # turned on: another run
    run_finetune.main(argv)  # left off: the same run, resumed
    assert (tmp_path / "run" / "run_config.json").exists()
