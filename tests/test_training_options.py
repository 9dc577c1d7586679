"""Training options that depend on the machine: native bf16 detection and what the Trainer is told."""

import argparse
import json

import pytest

from toxiclf.training import common as training


@pytest.mark.parametrize(
    "flags, native",
    [
        ("fpu sse avx2 avx512f avx512_bf16 avx512_vnni", True),
        ("fpu sse avx2 amx_bf16 amx_tile", True),
        ("fpu sse avx2 avx512f avx512_vnni", False),  # avx512 without its bf16 extension: emulated, slower
    ],
)
def test_native_bf16_is_read_from_the_cpu_flags(flags, native):
    cpuinfo = f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n"
    assert training.cpu_has_native_bf16(cpuinfo) is native


def test_no_flags_line_means_no_native_bf16():
    assert training.cpu_has_native_bf16("processor\t: 0\n") is False


def parsed(*argv):
    parser = argparse.ArgumentParser()
    training.add_common_args(parser, output_dir="out", learning_rate=5e-5, epochs=1)
    args = parser.parse_args(list(argv))
    training.check_common_args(parser, args)
    return args


@pytest.mark.parametrize("native", [True, False])
def test_cpu_training_uses_bf16_exactly_where_it_is_native(monkeypatch, native, tmp_path):
    monkeypatch.setattr(training.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: native)
    options = training.training_arguments(parsed("--output-dir", str(tmp_path)))
    assert options.bf16 is native and options.use_cpu is native
    assert training.training_arguments(parsed("--output-dir", str(tmp_path), "--no-bf16")).bf16 is False


def test_save_steps_checkpoint_and_validate_together(tmp_path):
    options = training.training_arguments(parsed("--output-dir", str(tmp_path), "--save-steps", "400"))
    assert (options.save_strategy, options.eval_strategy) == ("steps", "steps")
    assert options.save_steps == options.eval_steps == 400
    epoch = training.training_arguments(parsed("--output-dir", str(tmp_path)))
    assert (epoch.save_strategy, epoch.eval_strategy) == ("epoch", "epoch")


def test_distillation_weights_are_relative_and_the_ablation_is_plain_ce():
    import run_distill

    ablation = run_distill.parse_args(["--layers", "odd", "--alpha-kl", "0", "--alpha-cos", "0"])
    assert (ablation.alpha_ce, ablation.alpha_kl, ablation.alpha_cos) == (1.0, 0.0, 0.0)
    default = run_distill.parse_args(["--layers", "odd"])
    assert (default.alpha_ce, default.alpha_kl, default.alpha_cos) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


@pytest.mark.parametrize("flags", [["--davidson-samples", "0"], ["--noise-share", "1.5"],
                                   ["--robustness-augmentation", "-1"], ["--joined-phrase-share", "-0.1"],
                                   ["--template-noise-share", "0.2"]])  # fmt: skip
def test_robustness_flags_out_of_range_are_usage_errors(flags, capsys):
    import run_finetune

    with pytest.raises(SystemExit) as stopped:
        run_finetune.parse_args(flags)
    assert stopped.value.code == 2 and "error: --" in capsys.readouterr().err  # one line naming the flag


def test_a_resume_compares_flags_as_run_args_json_stores_them(tmp_path):
    # Checkpoints whose run_args.json holds a list resume under a release that parses the same flag to a tuple.
    run_dir = tmp_path / "run"
    (run_dir / "checkpoint-200").mkdir(parents=True)
    (run_dir / "checkpoint-200" / "trainer_state.json").write_text("{}")
    args = parsed("--output-dir", str(run_dir))
    args.student_layers = [1, 2]
    (run_dir / training.RUN_ARGS_FILE).write_text(json.dumps(training._run_args(args)))
    args.student_layers = (1, 2)
    assert training._checkpoint_to_resume(args, run_dir) == str(run_dir / "checkpoint-200")
    args.student_layers = (1, 3)
    with pytest.raises(SystemExit, match=r"another run \(--student-layers \[1, 2\] -> \[1, 3\]\)"):
        training._checkpoint_to_resume(args, run_dir)


def test_a_run_record_writes_paths_inside_the_repository_relative_to_it():
    from toxiclf.paths import REPO_ROOT

    record = {
        "teacher": str(REPO_ROOT / "outputs" / "teacher"),  # a default: absolute
        "output_dir": REPO_ROOT / "outputs" / "odd",
        "layers": (1, 3),
        "nested": [REPO_ROOT / "x"],
        "elsewhere": "/data/comments.csv",
        "name": "minilm-l6",
    }
    assert training.as_recorded(record) == {
        "teacher": "outputs/teacher",
        "output_dir": "outputs/odd",
        "layers": [1, 3],
        "nested": ["x"],
        "elsewhere": "/data/comments.csv",
        "name": "minilm-l6",
    }


def test_added_rows_carry_their_kl_share_and_the_comments_keep_all_of_it(tiny_dataset_dir, tokenizer):
    import run_distill
    from toxiclf.training import common as training
    from toxiclf.training.arguments import DataArguments, DistillationArguments, typed

    flags = ["--student-init", "minilm-l6", "--dataset", str(tiny_dataset_dir), "--identity-augmentation", "6"]

    def training_rows(distill_flags):
        data, distillation = typed(run_distill.parse_args(distill_flags), DataArguments, DistillationArguments)
        return training.load_training_data(data, tokenizer, None, distillation)

    train, validation, _ = training_rows([*flags, "--added-rows-kl-share", "0.25"])
    assert train["kl_share"] == [1.0] * 140 + [0.25] * 6  # the 140 comments, then the identity sentences
    assert "kl_share" not in validation.column_names
    default, _, _ = training_rows(flags)
    assert "kl_share" not in default.column_names  # every row alike: nothing to carry
    weighted, _, _ = training_rows([*flags, "--added-rows-weight", "3"])
    assert weighted["row_weight"] == [1.0] * 140 + [3.0] * 6 and "kl_share" not in weighted.column_names


@pytest.mark.parametrize("flags", [["--added-rows-kl-share", "1.5", "--identity-augmentation", "6"],
                                   ["--added-rows-kl-share", "0"], ["--added-rows-weight", "2"],
                                   ["--added-rows-weight", "0", "--identity-augmentation", "6"]])  # fmt: skip
def test_a_per_row_flag_out_of_range_or_without_added_rows_is_a_usage_error(flags, capsys):
    import run_distill

    with pytest.raises(SystemExit) as stopped:
        run_distill.parse_args(["--student-init", "minilm-l6", *flags])
    assert stopped.value.code == 2 and flags[0] in capsys.readouterr().err
