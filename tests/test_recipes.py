"""Recipes: every file reads into its script's dataclasses, every parent exists, the shipped lineage reaches the
pre-trained MiniLM-L6, each command parses with its script, and (slow) the shipped chain dry-runs on 64 rows."""

import ast
import dataclasses
import json
import shlex

import pytest

from toxiclf.evaluation.results_files import TABLE_MODELS
from toxiclf.paths import REPO_ROOT
from toxiclf.training.arguments import SCRIPT_ARGUMENTS, DataArguments, field_names
from toxiclf.training.recipes import (
    RECIPES_DIR,
    STEPS,
    RecipeError,
    chain,
    commands,
    main,
    read_all,
    read_recipe,
)

RECIPES = read_all()


def write_recipe(folder, name, **overrides):
    recipe = {"name": name, "what": "a test", "script": "run_finetune.py", "parent": None, "output_dir": name,
              "args": {"model": "minilm-l6"}, **overrides}  # fmt: skip
    (folder / f"{name}.json").write_text(json.dumps(recipe))
    return folder / f"{name}.json"


def test_every_recipe_file_reads_into_its_scripts_dataclasses():
    assert len(RECIPES) == len(list(RECIPES_DIR.glob("*.json"))) >= 40
    for recipe in RECIPES.values():
        typed = recipe.typed_args()
        assert [type(kind) for kind in typed] == list(recipe.step.arguments)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"args": {"model": "minilm-l6", "alpha_c": 0.5}}, "['alpha_c']"),
     ({"args": {"noise_share": "much"}}, "noise_share: 'much' is not float"),
     ({"args": {"group_sentences": "some"}}, "group_sentences: 'some' is not"),
     ({"teacher": "x"}, "unknown key(s) ['teacher']"),
     ({"script": "train.py"}, "unknown script 'train.py'"),
     ({"parent": "elsewhere", "args": {"model": "minilm-l6"}}, "model is filled by the recipe's parent"),
     ({"uses": {"soft_labels": "a"}}, "uses 'soft_labels', which run_finetune.py does not take")],
)  # fmt: skip
def test_a_bad_recipe_is_refused_in_one_line_that_names_the_file(tmp_path, overrides, message):
    path = write_recipe(tmp_path, "bad", **overrides)
    with pytest.raises(RecipeError) as error:
        read_recipe(path)
    assert message in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_every_needed_recipe_exists_and_no_chain_has_a_cycle():
    for name in RECIPES:
        ordered = [recipe.name for recipe in chain(name, RECIPES)]
        assert ordered[-1] == name and len(ordered) == len(set(ordered))
        for position, recipe in enumerate(chain(name, RECIPES)):
            assert set(recipe.needs()) <= set(ordered[:position])  # what a step needs runs before it


def test_a_cycle_and_a_missing_parent_are_refused(tmp_path):
    write_recipe(tmp_path, "a", parent="b", args={})
    write_recipe(tmp_path, "b", parent="a", args={})
    write_recipe(tmp_path, "c", parent="nowhere", args={})
    recipes = read_all(tmp_path)
    with pytest.raises(RecipeError, match="a cycle of recipes: a -> b -> a"):
        chain("a", recipes)
    with pytest.raises(RecipeError, match="c: needs the recipe 'nowhere'"):
        chain("c", recipes)


def test_every_table_model_and_every_experiment_has_a_recipe():
    from research.experiments import EXPERIMENTS

    assert set(TABLE_MODELS) <= set(RECIPES)
    assert set(EXPERIMENTS) <= set(RECIPES)
    for name, experiment in EXPERIMENTS.items():
        assert RECIPES[name].script == experiment.script, name


def test_the_shipped_lineage_reaches_the_pre_trained_minilm_through_every_shipped_round():
    lineage, name = [], "shipped"
    while name:
        lineage.append(name)
        name = RECIPES[name].parent
    assert lineage == [
        "shipped", "minilm-l6-robust-r10", "minilm-l6-robust-r8-wise5", "minilm-l6-robust-r8",
        "minilm-l6-robust-r5-wise5", "minilm-l6-robust-r5", "minilm-l6-robust-r4-wise7", "minilm-l6-robust-r4",
        "minilm-l6-robust-r3-wise5", "minilm-l6-robust-r3", "minilm-l6-robust-r2-wise5", "minilm-l6-robust-r2",
        "minilm-l6-robust-wise7", "minilm-l6-robust", "minilm-l6-debiased-statements",
    ]  # fmt: skip
    assert RECIPES[lineage[-1]].args["model"] == "minilm-l6"  # the embedded pre-trained all-MiniLM-L6-v2
    # each average mixes the round's model with the model it was fine-tuned from
    for name in lineage:
        recipe = RECIPES[name]
        if recipe.script == "research.weight_averaging":
            assert recipe.uses["base"] == RECIPES[recipe.parent].parent


def test_a_stored_soft_label_file_that_a_recipe_names_is_committed():
    for recipe in RECIPES.values():
        for value in [recipe.args.get("soft_labels"), *recipe.args.get("comments", []),
                      *recipe.args.get("added_rows", [])]:  # fmt: skip
            if value and "r15" not in value:  # the merger commits round fifteen's added-rows logits
                assert (REPO_ROOT / value).exists(), (recipe.name, value)


def script_main_module(script: str):
    import importlib

    return importlib.import_module(script.removesuffix(".py"))


@pytest.mark.parametrize("script", sorted(SCRIPT_ARGUMENTS))
def test_each_scripts_flags_are_its_dataclasses_fields(script):
    minimal = ["--layers", "odd"] if script == "run_distill.py" else []
    parsed = script_main_module(script).parse_args(minimal)
    assert set(vars(parsed)) == field_names(*SCRIPT_ARGUMENTS[script])


@pytest.mark.parametrize("module", ["research.weight_averaging", "research.soft_label_mix"])
def test_the_lab_steps_arguments_are_flags_their_modules_take(module):
    """The package mirrors the lab's flags (it may not import the lab): read them from the module's source."""
    source = (REPO_ROOT / (module.replace(".", "/") + ".py")).read_text()
    flags = {node.args[0].value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", "") == "add_argument"}  # fmt: skip
    step = STEPS[module]
    ours = {f"--{name.replace('_', '-')}" for kind in step.arguments for name in field_names(kind)}
    assert ours | {f"--{step.output_flag}"} == flags


@pytest.mark.parametrize("dry_run", [False, True])
def test_every_training_recipes_command_parses_with_its_script(tmp_path, dry_run):
    for recipe in RECIPES.values():
        if recipe.script not in SCRIPT_ARGUMENTS:
            continue
        *before, command = commands(recipe, tmp_path, RECIPES, dry_run)
        assert command[0] == recipe.script
        args = script_main_module(recipe.script).parse_args(command[1:])
        assert args.output_dir == tmp_path / recipe.output_dir
        if dry_run:
            assert args.max_train_samples == 64 and args.identity_augmentation in (0, 32)
            assert not vars(args).get("soft_labels") or args.soft_labels.name.endswith(".npz")


def test_round_fifteen_is_the_candidate_now_training(tmp_path):
    import run_distill

    given = (
        "--soft-labels results/soft_labels/r15-mix.npz --alpha-ce 0.5 --alpha-kl 0.5 --alpha-cos 0 --temperature 2 "
        "--max-eval-samples 2000 --identity-augmentation balanced-statements --group-sentences balanced "
        "--robustness-augmentation 22000 --davidson ../shared/data/davidson_labeled_data.csv --davidson-samples 4000 "
        "--noise-share 0.15 --template-noise-share 0.15 --joined-phrase-share 0.3 --knowledge-adjustment added-rows "
        "--learning-rate 3e-5 --num-train-epochs 0.5 --save-steps 200"
    )
    recipe = RECIPES["robust-r15"]
    ours = run_distill.parse_args(commands(recipe, tmp_path, RECIPES)[-1][1:])
    expected = run_distill.parse_args([*shlex.split(given), "--student-init", str(tmp_path / "x"),
                                       "--output-dir", str(tmp_path / "minilm-l6-robust-r15")])  # fmt: skip
    assert ours.student_init == str(tmp_path / "gpu" / "minilm-l6-debiased-statements")  # the pre-robustness model
    assert ours.soft_labels == tmp_path / "soft-labels-r15" / "soft_labels.npz"  # its mix step's file
    different = {k for k in vars(ours) if vars(ours)[k] != vars(expected)[k]}
    assert different == {"student_init", "soft_labels"}
    mix = RECIPES[recipe.uses["soft_labels"]]
    assert mix.args == {"comments": ["results/soft_labels/pre-robustness-model.npz",
                                     "results/soft_labels/round-eight-model.npz"],
                        "added_rows": ["results/soft_labels/shipped-model-added-rows-r15.npz"]}  # fmt: skip


def test_a_dry_run_scores_soft_labels_that_fit_only_the_whole_data_from_the_parent(tmp_path):
    before, command = commands(RECIPES["shipped"], tmp_path, RECIPES, dry_run=True)
    assert before[:3] == ["-m", "toxiclf.training.soft_labels", "--teachers"]
    assert before[3] == str(tmp_path / "minilm-l6-robust-r10")  # the parent
    assert "--max-rows" in before and "--knowledge-adjustment" in command
    assert commands(RECIPES["soft-labels-r13"], tmp_path, RECIPES, dry_run=True) == []  # the mix is not needed


def test_finished_steps_are_skipped_and_the_rest_run_in_order(tmp_path, capsys):
    write_recipe(tmp_path, "start")
    write_recipe(tmp_path, "next", parent="start", args={"noise_share": 0.1})
    run_dir = tmp_path / "runs"
    (run_dir / "start").mkdir(parents=True)
    (run_dir / "start" / "run_config.json").write_text("{}")
    assert main([str(tmp_path / "next.json"), "--run-dir", str(run_dir), "--print"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("== skip start (finished:")
    assert out[1] == (f"== next: python run_finetune.py --noise-share 0.1 --output-dir {run_dir / 'next'} "
                      f"--model {run_dir / 'start'}")  # fmt: skip


def test_a_bad_recipe_stops_the_command_with_its_message(tmp_path, capsys):
    write_recipe(tmp_path, "bad", args={"alpha_c": 1})
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "bad.json"), "--print"])
    assert stopped.value.code == 2 and "alpha_c" in capsys.readouterr().err


def test_data_arguments_convert_a_recipes_text_as_the_flags_do():
    data = DataArguments(identity_augmentation="32", davidson="tweets.csv", noise_share=0)
    assert data.identity_augmentation == 32 and data.davidson.name == "tweets.csv" and data.noise_share == 0.0
    assert DataArguments(identity_augmentation="balanced").identity_augmentation == "balanced"
    assert dataclasses.asdict(DataArguments())["group_sentences"] == "none"


@pytest.mark.slow
@pytest.mark.embedded
def test_the_shipped_chain_dry_runs_on_64_rows(tmp_path):
    """Every step of the shipped model's lineage, from the pre-trained MiniLM-L6, on 64 rows (minutes)."""
    assert main([str(RECIPES_DIR / "shipped.json"), "--dry-run", "--run-dir", str(tmp_path)]) == 0
    for recipe in chain("shipped", RECIPES):
        if recipe.script != "research.soft_label_mix":
            assert recipe.finished(tmp_path).exists(), recipe.name
    record = json.loads((tmp_path / "minilm-l6-robust-r14" / "run_config.json").read_text())
    assert record["args"]["max_train_samples"] == 64 and record["args"]["knowledge_adjustment"] == "added-rows"
    assert record["args"]["student_init"] == str(tmp_path / "minilm-l6-robust-r10")
