"""Recipes: each model as a short JSON file that names its script, its arguments and its parent.

    python -m toxiclf.training recipes/shipped.json                 # the shipped model and whatever it needs
    python -m toxiclf.training recipes/shipped.json --dry-run       # the whole chain on 64 rows, in minutes
    python -m toxiclf.training recipes/robust-r15.json --print      # the commands, run nothing

A recipe (after `python run_glue.py args.json` and nanoGPT's config/*.py) is one step:

    {"name": "minilm-l6-robust-r10", "what": "one line", "script": "run_distill.py",
     "parent": "minilm-l6-robust-r8-wise5", "output_dir": "minilm-l6-robust-r10",
     "args": {"alpha_ce": 0.5, ...}, "uses": {"soft_labels": "soft-labels-r10"}}

`parent` is the recipe whose model this one starts from (null: a pre-trained model the args name); its output fills
the script's starting flag (`--model`, `--student-init`, or `--teacher` for the teacher's odd / even layers,
`--tuned` for a weight average). `uses` fills other flags with other recipes' outputs (a weight average's `base`, a
student's `soft_labels`, an ensemble's `teachers`). Paths in `args` are relative to the repository's root, where
every step runs; `output_dir` is relative to the run folder. A step is finished when its output holds
run_config.json (a soft-label step: its file), as research.runner decides, so a rerun skips it and a killed run
resumes from its last checkpoint.

Steps of the lab (a weight average, a soft-label mix) run as `python -m research.<module>` processes: the package
never imports the lab, but a recipe may name its steps.
"""

import argparse
import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser

from ..paths import OUTPUTS_DIR, REPO_ROOT
from .arguments import SCRIPT_ARGUMENTS, RowArguments, Typed, arg, field_names
from .common import RUN_CONFIG_FILE
from .models import TEACHER_LAYERS

RECIPES_DIR = REPO_ROOT / "recipes"
SOFT_LABELS_FILE = "soft_labels.npz"  # a soft-label step's output, in its output_dir
DRY_RUN_DIR = OUTPUTS_DIR / "dry-run"  # never the real run folder: a tiny model there would read as finished
# A dry run's rows and steps (the GPU run's dry run: research.experiments.GPU_DRY_RUN_FLAGS). A count of added rows
# replaces 'balanced', which adds at least 50 sentences per term, thousands to 64 rows.
DRY_RUN_ARGS = {"max_train_samples": 64, "max_eval_samples": 32, "num_train_epochs": 1.0,
                "per_device_train_batch_size": 32, "max_seq_length": 64}  # fmt: skip
DRY_RUN_ADDED_ROWS = 32  # identity sentences, templated sentences
DRY_RUN_TWEETS = 8
DRY_RUN_SOFT_LABEL_ARGS = {"max_rows": 64, "max_seq_length": 64}
DRY_RUN_SOFT_LABELS = "dry-run-soft-labels"  # the folder of the soft labels a dry run scores for its students


@dataclass
class WeightAveragingArguments(Typed):
    """research.weight_averaging: (1 - alpha) * base + alpha * tuned; the parent is `tuned`."""

    base: str | None = arg(None, "the model the tuned one was fine-tuned from (a recipe, through `uses`)")
    tuned: str | None = arg(None, "the fine-tuned model (the parent)")
    alpha: float = arg(0.5, "weight of the tuned model, 0 to 1")
    only: str | None = arg(None, "mix only the tensors whose names match this regular expression")


@dataclass
class SoftLabelMixArguments(Typed):
    """research.soft_label_mix: the comments' teachers and the added rows' teachers, as soft-label files."""

    comments: list[str] = arg([], "soft-label files whose ensemble the comments get")
    added_rows: list[str] = arg([], "soft-label files whose ensemble the added rows get")


@dataclass
class SoftLabelScoringArguments(Typed):
    """toxiclf.training.soft_labels: the teachers' logits on the rows a run trains on (RowArguments)."""

    teachers: list[str] = arg([], "fine-tuned classifier folders (recipes, through `uses`)")
    batch_size: int = arg(64, "rows per forward pass")
    no_bf16: bool = arg(False, "fp32 even where the CPU computes bf16 natively")
    float16: bool = arg(False, "store the ensemble alone in half precision")
    max_rows: int | None = arg(None, "score the first N rows of each split only")
    added_rows_only: bool = arg(False, "score only the rows the flags add")


@dataclass(frozen=True)
class Step:
    """How a recipe's script runs: its command, its arguments, the flag its parent fills, where its output goes."""

    command: tuple[str, ...]  # before the flags, after the Python
    arguments: tuple[type, ...]
    parent_flag: str | None  # None: no parent
    output_flag: str
    writes_file: bool = False  # a soft-label file in output_dir, not a model folder
    serving_subdir: str = ""  # where its servable checkpoint sits (LoRA: the merged model)


STEPS = {
    "run_finetune.py": Step(("run_finetune.py",), SCRIPT_ARGUMENTS["run_finetune.py"], "model", "output_dir"),
    "run_distill.py": Step(("run_distill.py",), SCRIPT_ARGUMENTS["run_distill.py"], "student_init", "output_dir"),
    "run_lora.py": Step(("run_lora.py",), SCRIPT_ARGUMENTS["run_lora.py"], "model", "output_dir",
                        serving_subdir="merged"),
    "research.weight_averaging": Step(("-m", "research.weight_averaging"), (WeightAveragingArguments,), "tuned",
                                      "output"),  # fmt: skip
    "research.soft_label_mix": Step(("-m", "research.soft_label_mix"), (SoftLabelMixArguments,), None, "output",
                                    writes_file=True),  # fmt: skip
    "toxiclf.training.soft_labels": Step(("-m", "toxiclf.training.soft_labels"),
                                         (SoftLabelScoringArguments, RowArguments), None, "output", writes_file=True),
}  # fmt: skip
RECIPE_KEYS = {"name", "what", "script", "parent", "output_dir", "args", "uses"}


class RecipeError(ValueError):
    """A recipe that cannot be read or run: its message is one line that names the file."""


@dataclass(frozen=True)
class Recipe:
    name: str
    what: str
    script: str
    parent: str | None
    output_dir: str
    args: dict = field(default_factory=dict)  # as the file writes them: only these become flags
    uses: dict = field(default_factory=dict)  # flag -> a recipe's name (or a list of names): their outputs
    path: Path | None = None

    @property
    def step(self) -> Step:
        return STEPS[self.script]

    @property
    def parent_flag(self) -> str | None:
        # The teacher's odd / even layers are a student of the teacher: the parent is the teacher.
        if self.script == "run_distill.py" and self.args.get("student_init") in TEACHER_LAYERS:
            return "teacher"
        return self.step.parent_flag

    def needs(self) -> list[str]:
        """The recipes whose outputs this one reads: its parent first, then what it uses."""
        used = [name for names in self.uses.values() for name in ([names] if isinstance(names, str) else names)]
        return [*([self.parent] if self.parent else []), *used]

    def output(self, run_dir: Path) -> Path:
        """The model folder (its servable checkpoint) or the soft-label file that this step makes."""
        folder = Path(run_dir) / self.output_dir
        if self.step.writes_file:
            return folder / SOFT_LABELS_FILE
        return folder / self.step.serving_subdir if self.step.serving_subdir else folder

    def finished(self, run_dir: Path) -> Path:
        """The file whose existence says the step is done."""
        output = self.output(run_dir)
        return output if self.step.writes_file else Path(run_dir) / self.output_dir / RUN_CONFIG_FILE

    def typed_args(self) -> tuple:
        """The args as the script's dataclasses (HfArgumentParser.parse_dict: an unknown key is refused)."""
        try:
            return HfArgumentParser(self.step.arguments).parse_dict(self.args)
        except (ValueError, TypeError) as error:
            raise RecipeError(f"{self.path or self.name}: {error}") from None


def read_recipe(path: Path) -> Recipe:
    """One recipe file, checked: its keys, its script, its args against the script's dataclasses."""
    try:
        content = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RecipeError(f"{path}: cannot read the recipe ({error})") from None
    unknown = set(content) - RECIPE_KEYS
    missing = {"name", "what", "script", "parent", "output_dir"} - set(content)
    if unknown or missing:
        problem = f"unknown key(s) {sorted(unknown)}" if unknown else f"missing key(s) {sorted(missing)}"
        raise RecipeError(f"{path}: {problem}; a recipe has {sorted(RECIPE_KEYS)}")
    if content["script"] not in STEPS:
        raise RecipeError(f"{path}: unknown script {content['script']!r}; one of {sorted(STEPS)}")
    if content["name"] != Path(path).stem:
        raise RecipeError(f"{path}: its name is {content['name']!r}; a recipe is named after its file")
    recipe = Recipe(**{key: value for key, value in content.items()}, path=Path(path))
    fields = {item.name for kind in recipe.step.arguments for item in dataclasses.fields(kind)}
    wired = {recipe.step.output_flag, *([recipe.parent_flag] if recipe.parent else []), *recipe.uses}
    if clash := sorted(wired & set(recipe.args)):
        raise RecipeError(f"{path}: {clash[0]} is filled by the recipe's parent, uses or output_dir, not by args")
    if not_flags := sorted(set(recipe.uses) - fields):
        raise RecipeError(f"{path}: uses {not_flags[0]!r}, which {recipe.script} does not take")
    if recipe.parent and recipe.step.parent_flag is None:
        raise RecipeError(f"{path}: {recipe.script} starts from no model; its parent must be null")
    recipe.typed_args()
    return recipe


def read_all(folder: Path = RECIPES_DIR) -> dict[str, Recipe]:
    return {path.stem: read_recipe(path) for path in sorted(Path(folder).glob("*.json"))}


def chain(name: str, recipes: dict[str, Recipe]) -> list[Recipe]:
    """`name` and every recipe it needs, each once, each after what it needs; a missing one or a cycle refused."""
    ordered, state = [], {}

    def visit(current: str, path: list[str]):
        if current not in recipes:
            raise RecipeError(f"{path[-1] if path else current}: needs the recipe {current!r}, which does not exist")
        if state.get(current) == "open":
            raise RecipeError(f"a cycle of recipes: {' -> '.join([*path, current])}")
        if current in state:
            return
        state[current] = "open"
        for needed in recipes[current].needs():
            visit(needed, [*path, current])
        state[current] = "done"
        ordered.append(recipes[current])

    visit(name, [])
    return ordered


def as_flags(args: dict) -> list[str]:
    """A mapping as command-line flags: `alpha_ce: 0.5` -> `--alpha-ce 0.5`; true -> the flag alone; a list ->
    several values (`--comments a b`); a tuple of layers -> `--student-layers 1,3,5`, as that flag reads them."""
    flags = []
    for key, value in args.items():
        flag = f"--{key.replace('_', '-')}"
        if value is None or value is False:
            continue
        if value is True:
            flags.append(flag)
        elif isinstance(value, tuple):
            flags += [flag, ",".join(map(str, value))]
        elif isinstance(value, list):
            flags += [flag, *map(str, value)]
        else:
            flags += [flag, str(value)]
    return flags


def _given_args(recipe: Recipe) -> dict:
    """The args the file gives, typed (a layer list becomes the tuple its flag reads), in the file's order."""
    typed = {key: value for kind in recipe.typed_args() for key, value in dataclasses.asdict(kind).items()}
    return {key: typed[key] for key in recipe.args}


def dry_run_args(recipe: Recipe, args: dict) -> tuple[dict, str | None]:
    """A training step's args on 64 rows, and a note of what the dry run changed that a reader should know."""
    if recipe.script not in SCRIPT_ARGUMENTS:
        return args, None
    args = {key: value for key, value in args.items() if key != "save_steps"}  # two steps: checkpoint at the end
    args.update(DRY_RUN_ARGS)
    for key in ("identity_augmentation", "robustness_augmentation"):
        if args.get(key):
            args[key] = DRY_RUN_ADDED_ROWS
    note = None
    if args.get("davidson"):
        if (REPO_ROOT / args["davidson"]).exists():
            args["davidson_samples"] = DRY_RUN_TWEETS
        else:  # the tweets are not in the repository (their licence): a machine without them trains without
            note = f"{args['davidson']} is absent: the dry run leaves the tweets out"
            args.pop("davidson"), args.pop("davidson_samples", None)
    return args, note


def commands(recipe: Recipe, run_dir: Path, recipes: dict[str, Recipe], dry_run: bool = False) -> list[list[str]]:
    """The command lines (after the Python) that make this recipe's output; a dry run may add one before it."""
    args = _given_args(recipe)
    before = []
    if dry_run:
        if recipe.step.writes_file and recipe.script == "research.soft_label_mix":
            return []  # its files are made for the whole data; the dry run's students score their own, below
        args, _ = dry_run_args(recipe, args)
        if recipe.script == "toxiclf.training.soft_labels":
            args.update(DRY_RUN_SOFT_LABEL_ARGS)
    # the folder the script writes (LoRA's merged model is a subfolder of it), or a soft-label step's file
    output = recipe.output(run_dir) if recipe.step.writes_file else Path(run_dir) / recipe.output_dir
    wired = {recipe.step.output_flag: str(output)}
    if recipe.parent:
        wired[recipe.parent_flag] = str(recipes[recipe.parent].output(run_dir))
    for flag, names in recipe.uses.items():
        outputs = [str(recipes[name].output(run_dir)) for name in ([names] if isinstance(names, str) else names)]
        wired[flag] = outputs[0] if isinstance(names, str) else outputs
    if dry_run and recipe.script == "run_distill.py" and (args.get("soft_labels") or "soft_labels" in recipe.uses):
        scored_here = recipes[recipe.uses["soft_labels"]].script if "soft_labels" in recipe.uses else None
        if scored_here != "toxiclf.training.soft_labels":
            # Stored soft labels fit the whole data's rows alone: the dry run scores the parent on its own rows.
            dry_labels = Path(run_dir) / DRY_RUN_SOFT_LABELS / f"{recipe.name}.npz"
            rows = {key: value for key, value in args.items() if key in field_names(RowArguments)}
            # The parent, or the model the args start from (a student of a shipped folder), or the teacher
            teacher = wired.get("student_init") or args.get("student_init") or wired.get("teacher") or args["teacher"]
            scoring = {"teachers": [teacher], **rows, **DRY_RUN_SOFT_LABEL_ARGS, "output": str(dry_labels)}
            before.append([*STEPS["toxiclf.training.soft_labels"].command, *as_flags(scoring)])
            args.pop("soft_labels", None)
            wired["soft_labels"] = str(dry_labels)
    return [*before, [*recipe.step.command, *as_flags({**args, **wired})]]


def run(recipe_path: Path, run_dir: Path, dry_run: bool = False, print_only: bool = False) -> int:
    """Run a recipe and whatever it needs that is not finished, in order; stop at the first failure."""
    recipe_path, run_dir = Path(recipe_path), Path(run_dir).resolve()  # the steps run from the repository's root
    recipes = read_all(recipe_path.parent)
    for recipe in chain(recipe_path.stem, recipes):
        if recipe.finished(run_dir).exists():
            print(f"== skip {recipe.name} (finished: {recipe.finished(run_dir)})", flush=True)
            continue
        steps = commands(recipe, run_dir, recipes, dry_run)
        if not steps:
            print(f"== skip {recipe.name}: the dry run scores its students' soft labels from their parents", flush=True)
        if dry_run and (note := dry_run_args(recipe, _given_args(recipe))[1]):
            print(f"== {recipe.name}: {note}", flush=True)
        for command in steps:
            print(f"== {recipe.name}: python {' '.join(command)}", flush=True)
            if print_only:
                continue
            # a soft-label step writes a file, which wants its folder; the scripts make their own
            (Path(run_dir) / recipe.output_dir).mkdir(parents=True, exist_ok=True)
            if dry_run:
                (Path(run_dir) / DRY_RUN_SOFT_LABELS).mkdir(exist_ok=True)
            code = subprocess.run([sys.executable, *command], cwd=REPO_ROOT).returncode
            if code != 0:
                print(f"== {recipe.name} failed (exit {code}); the steps after it need it", file=sys.stderr)
                return code
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toxiclf.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("recipe", type=Path, help="a recipe file (recipes/NAME.json); its parents sit beside it")
    parser.add_argument("--run-dir", type=Path, help="where the models go (default: outputs; dry run: outputs/dry-run)")
    parser.add_argument("--dry-run", action="store_true", help="every step on 64 rows and a few steps: the plumbing")
    parser.add_argument("--print", dest="print_only", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    run_dir = args.run_dir or (DRY_RUN_DIR if args.dry_run else OUTPUTS_DIR)
    try:
        return run(args.recipe, run_dir, args.dry_run, args.print_only)
    except RecipeError as error:
        parser.exit(2, f"error: {error}\n")
