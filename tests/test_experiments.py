"""research.experiments: the one list of models, and what reads it."""

from pathlib import Path

from research.experiments import CPU_PLAN, EXPERIMENTS, MITIGATIONS, SMALL_MODELS, default_checkpoints, main
from toxiclf.paths import REPO_ROOT


def test_recipes_name_their_teacher_soft_labels_and_output(tmp_path):
    assert EXPERIMENTS["student-even"].command(tmp_path) == [
        "run_distill.py", "--layers", "even", "--teacher", str(tmp_path / "teacher"),
        "--output-dir", str(tmp_path / "student-even")]  # fmt: skip
    assert f"{tmp_path}/soft_labels.npz" in EXPERIMENTS["minilm-l6-ens"].command(tmp_path)
    assert EXPERIMENTS["lora"].checkpoint(tmp_path) == tmp_path / "lora" / "merged"


def test_roles_follow_from_the_entries():
    assert "teacher" not in SMALL_MODELS and "lora" not in SMALL_MODELS and "student-even" in SMALL_MODELS
    assert MITIGATIONS["minilm-l6-debiased-statements"] == "minilm-l6"
    assert set(CPU_PLAN) <= set(EXPERIMENTS)
    assert not set(MITIGATIONS) & set(default_checkpoints(Path("x")))


def test_run_eval_and_shipping_read_the_list():
    import run_eval
    from research import ship_choice

    assert {k: v for k, v in run_eval.DEFAULT_CHECKPOINTS.items() if k != "shipped"} == default_checkpoints()
    assert ship_choice.SMALL_MODELS == SMALL_MODELS and ship_choice.MITIGATIONS == MITIGATIONS


def test_the_cpu_queue_names_no_model_but_the_teacher():
    script = (REPO_ROOT / "scripts" / "cpu_full_run.sh").read_text()
    assert not [name for name in EXPERIMENTS if name != "teacher" and name in script]


def test_the_command_line_prints_a_recipe(capsys, tmp_path):
    assert main(["command", "student-odd-ce", "--run-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == EXPERIMENTS["student-odd-ce"].command(tmp_path)


def test_every_smaller_student_has_a_ce_only_twin_and_only_3_layer_choices_are_compared_with_the_alternate():
    from research.experiments import LAYER_CHOICES, SMALL_PLAN, SMALL_STUDENT_LAYERS, STUDENT_PAIRS, student_name

    assert student_name("1,3,5", "kd") == "student-3l-135-kd" and student_name("1,4", "ce") == "student-2l-14-ce"
    assert sorted(SMALL_PLAN) == sorted(student_name(layers, kind) for layers in SMALL_STUDENT_LAYERS
                                        for kind in ("kd", "ce"))  # fmt: skip
    assert SMALL_PLAN[:2] == ("student-3l-135-kd", "student-3l-135-ce")  # what distillation adds, first
    for layers in SMALL_STUDENT_LAYERS:
        kd, ce = student_name(layers, "kd"), student_name(layers, "ce")
        assert (kd, ce) in STUDENT_PAIRS and (kd + "-int8", "shipped") in STUDENT_PAIRS
        assert EXPERIMENTS[kd].command()[EXPERIMENTS[kd].command().index("--student-layers") + 1] == layers
        assert "--soft-labels" in EXPERIMENTS[kd].command() and "--soft-labels" not in EXPERIMENTS[ce].command()
        assert SMALL_PLAN.index(kd) < SMALL_PLAN.index(ce)
    against_alternate = {model for model, against in STUDENT_PAIRS if against == "student-3l-135-kd"}
    assert against_alternate == {student_name(layers, "kd") for layers in LAYER_CHOICES[1:]}
