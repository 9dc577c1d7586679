"""End-to-end: teacher -> odd student -> even student -> LoRA on a tiny model and data set, via each main()."""

import json

import pytest
from transformers import pipeline

import run_distill

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["teacher", "student-odd", "student-even", "lora/merged"])
def test_each_checkpoint_loads_in_a_pipeline_with_our_labels(pipeline_outputs, name):
    out, _ = pipeline_outputs
    config = json.loads((out / name / "config.json").read_text())
    assert config["id2label"] == {"0": "non-toxic", "1": "toxic"}
    classify = pipeline("text-classification", model=str(out / name), device="cpu")
    predictions = classify(["you idiot", "thanks for the source"])
    assert {p["label"] for p in predictions} <= {"toxic", "non-toxic"}


def test_students_have_six_layers_from_the_right_teacher_layers(pipeline_outputs):
    out, _ = pipeline_outputs
    for layers, expected in (("odd", [0, 2, 4, 6, 8, 10]), ("even", [1, 3, 5, 7, 9, 11])):
        config = json.loads((out / f"student-{layers}" / "config.json").read_text())
        assert config["num_hidden_layers"] == 6 and config["distilled_from_layers"] == expected


def test_teacher_learns_the_tiny_task(pipeline_outputs):
    _, metrics = pipeline_outputs
    # toxic comments carry a toxic word; a model that trained at all separates them
    assert metrics["teacher"]["eval_roc_auc"] > 0.8


def test_runs_record_their_configuration_and_speed(pipeline_outputs):
    out, metrics = pipeline_outputs
    run = json.loads((out / "student-odd" / "run_config.json").read_text())
    assert run["method"] == "distillation" and run["teacher_layers"] == [0, 2, 4, 6, 8, 10]
    assert run["args"]["max_train_samples"] == 64 and run["data"]["split_sizes"]["train"] == 140
    assert "torch" in run["libraries"] and "torch_threads" in run["device"]
    train = json.loads((out / "student-odd" / "train_results.json").read_text())
    assert train["train_samples"] == 64 and train["train_samples_per_second"] > 0
    lora = json.loads((out / "lora" / "run_config.json").read_text())
    assert lora["lora"]["r"] == 8 and lora["lora"]["alpha"] == 32 and lora["trainable_parameters"] > 0
    assert (out / "lora" / "adapter_config.json").exists()


def test_a_finished_run_is_not_trained_or_overwritten_again(pipeline_outputs, tiny_dataset_dir):
    out, _ = pipeline_outputs
    before = (out / "student-odd" / "run_config.json").read_text()
    with pytest.raises(SystemExit, match="holds a finished run"):
        run_distill.main(["--teacher", str(out / "teacher"), "--layers", "even",
                          "--output-dir", str(out / "student-odd"), "--dataset", str(tiny_dataset_dir),
                          "--max-train-samples", "64"])  # fmt: skip
    assert (out / "student-odd" / "run_config.json").read_text() == before


def test_distilling_from_an_untrained_teacher_is_refused(tiny_model_dir, tmp_path):
    with pytest.raises(SystemExit, match="not fine-tuned on this task"):
        run_distill.main(["--teacher", str(tiny_model_dir), "--layers", "odd", "--output-dir", str(tmp_path)])


def test_missing_teacher_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="run `python run_finetune.py` first"):
        run_distill.main(["--teacher", str(tmp_path / "nope"), "--layers", "odd"])


def test_distillation_runs_under_ddp_with_two_processes(pipeline_outputs, tiny_dataset_dir, tmp_path):
    """Two CPU processes (gloo): one process group, half the steps each, the teacher outside DDP."""
    import subprocess
    import sys

    out, _ = pipeline_outputs
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "run_distill.py",
               "--teacher", str(out / "teacher"), "--layers", "odd", "--dataset", str(tiny_dataset_dir),
               "--output-dir", str(tmp_path / "odd"), "--max-train-samples", "64", "--max-eval-samples", "20",
               "--per-device-train-batch-size", "8"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=300, cwd=run_distill.__file__.rsplit("/", 1)[0])
    run = json.loads((tmp_path / "odd" / "run_config.json").read_text())
    state = json.loads((tmp_path / "odd" / "trainer_state.json").read_text())
    assert run["world_size"] == 2
    assert state["global_step"] == 64 // (8 * 2) * 2  # 2 epochs of 64 rows at 8 per process, 2 processes


def test_lora_writes_its_run_record_beside_the_merged_weights(pipeline_outputs):
    out, _ = pipeline_outputs
    merged = json.loads((out / "lora" / "merged" / "run_config.json").read_text())
    assert merged == json.loads((out / "lora" / "run_config.json").read_text()) and merged["method"] == "LoRA"
