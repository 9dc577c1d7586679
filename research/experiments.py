"""Every model the project trains, by name: its script and flags, where it lands, and what shipping may do with it.

The one list: run_eval.py's default checkpoints, shipping's contenders and mitigations, and the plans of the CPU
queue and the GPU run (run by research.runner) are read from here.

    python -m research.experiments list                         # name, script, flags, role
    python -m research.experiments command student-even --run-dir outputs   # the command that trains it
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from toxiclf.evaluation.results_files import SEED_TABLE, SERVED_SUFFIX, TABLE_MODELS  # noqa: F401 - the lab's plans name them
from toxiclf.paths import OUTPUTS_DIR, SHIPPED_MODELS


@dataclass(frozen=True)
class Experiment:
    name: str
    script: str  # the training script at the repository's root
    flags: tuple[str, ...] = ()  # beyond the plan's (epochs, batch size, checkpoints); {run_dir}: the run's folder
    needs_teacher: bool = False  # --teacher RUN_DIR/teacher: a copy of the fine-tuned teacher
    small: bool = False  # a 6-layer model: a contender for shipping (12 layers are too slow to serve on a CPU)
    mitigates: str | None = None  # the model whose bias this one mitigates (same recipe plus identity sentences)
    serving_subdir: str = ""  # where the servable checkpoint sits in its output folder (LoRA: merged)
    served_score: bool = False  # scored a second time as served (ONNX int8) under SERVED_SUFFIX: a fast-tier candidate
    what: str = ""

    @property
    def adds_templated_rows(self) -> bool:
        return "--robustness-augmentation" in self.flags

    def checkpoint(self, run_dir: Path = OUTPUTS_DIR) -> Path:
        return Path(run_dir) / self.name / self.serving_subdir if self.serving_subdir else Path(run_dir) / self.name

    def command(self, run_dir: Path = OUTPUTS_DIR) -> list[str]:
        teacher = ["--teacher", str(Path(run_dir) / "teacher")] if self.needs_teacher else []
        flags = [flag.format(run_dir=run_dir) for flag in self.flags]
        return [self.script, *flags, *teacher, "--output-dir", str(Path(run_dir) / self.name)]


SOFT_LABELS = (
    "{run_dir}/soft_labels.npz"  # the ensemble's soft labels (toxiclf.training.soft_labels), in the run's folder
)
# The shipped model's logits on every training row and on the rows its recipe adds (committed: students of it train
# on any machine without a teacher). Made by: python -m toxiclf.training.soft_labels --teachers model
# --identity-augmentation
# balanced-statements --robustness-augmentation 6000 --float16 --output results/soft_labels/shipped-model.npz
SHIPPED_SOFT_LABELS = "results/soft_labels/shipped-model.npz"
SHIPPED_RECIPE = ("--identity-augmentation", "balanced-statements", "--robustness-augmentation", "6000",
                  "--noise-share", "0.15")  # fmt: skip
# Layer choices of the smaller students of the shipped model (one-based, of its 6). At 3 layers: alternate, the
# other alternate, bottom, top (which layers to keep); the first is the reference the others are compared with.
LAYER_CHOICES = ("1,3,5", "2,4,6", "1,2,3", "4,5,6")
# At 2 and 4 layers one choice each, not all four again: the bottom layers. At 3 layers bottom and alternate tie
# on validation (ROC-AUC 0.98495 and 0.98496, distilled alike; 2,4,6 0.98319), and "keep the bottom k" is the rule
# of the two that is defined at every size without a rounding choice (as Sajjad et al. 2020 found dropping the top
# layers the safest cut of a fine-tuned BERT).
OTHER_SIZES = ("1,2", "1,2,3,4")
SMALL_STUDENT_LAYERS = (*LAYER_CHOICES, *OTHER_SIZES)


def student_name(layers: str, kind: str) -> str:
    """The experiment of a smaller student: student-3l-135-kd is layers 1,3,5 distilled, -ce its CE-only twin."""
    return f"student-{len(layers.split(','))}l-{layers.replace(',', '')}-{kind}"


def _small_students():
    """Each layer choice twice: distilled from the shipped model's stored logits (KD + CE), and CE-only from the same
    init, rows and steps; both on the shipped model's recipe."""
    for layers in SMALL_STUDENT_LAYERS:
        init = ("--student-init", "model", "--student-layers", layers, *SHIPPED_RECIPE)
        distilled = (*init, "--soft-labels", SHIPPED_SOFT_LABELS, "--alpha-cos", "0")
        yield Experiment(student_name(layers, "kd"), "run_distill.py", distilled, served_score=True,
                         what=f"layers {layers} of the shipped model, distilled from its stored logits")  # fmt: skip
        yield Experiment(student_name(layers, "ce"), "run_distill.py", (*init, "--alpha-kl", "0", "--alpha-cos", "0"),
                         served_score=True, what=f"layers {layers} of the shipped model, labels only")  # fmt: skip


EXPERIMENTS = {
    e.name: e
    for e in (
        Experiment("teacher", "run_finetune.py", what="the 12-layer e5-small teacher, fine-tuned"),
        Experiment("student-odd", "run_distill.py", ("--layers", "odd"), needs_teacher=True, small=True,
                   what="6 layers: the teacher's 1, 3, ..., 11, distilled (CE + KL + cosine)"),
        Experiment("student-even", "run_distill.py", ("--layers", "even"), needs_teacher=True, small=True,
                   what="6 layers: the teacher's 2, 4, ..., 12, distilled"),
        Experiment("student-odd-ce", "run_distill.py", ("--layers", "odd", "--alpha-kl", "0", "--alpha-cos", "0"),
                   needs_teacher=True, small=True, what="the odd student on labels only (the ablation)"),
        Experiment("lora", "run_lora.py", serving_subdir="merged",
                   what="LoRA r=8, alpha=32, dropout 0.1 on the pre-trained 12-layer model"),
        Experiment("minilm-l6", "run_finetune.py", ("--model", "minilm-l6"), small=True,
                   what="all-MiniLM-L6-v2 fine-tuned directly"),
        Experiment("student-odd-ens", "run_distill.py", ("--layers", "odd", "--soft-labels", SOFT_LABELS),
                   needs_teacher=True, small=True, what="the odd student on the ensemble's soft labels"),
        Experiment("minilm-l6-ens", "run_distill.py",
                   ("--student-init", "minilm-l6", "--soft-labels", SOFT_LABELS, "--alpha-cos", "0"), small=True,
                   what="MiniLM-L6 on the ensemble's soft labels"),
        Experiment("student-odd-debiased", "run_distill.py",
                   ("--layers", "odd", "--identity-augmentation", "balanced"), needs_teacher=True,
                   mitigates="student-odd", what="the odd student plus non-toxic identity sentences"),
        Experiment("minilm-l6-debiased", "run_finetune.py",
                   ("--model", "minilm-l6", "--identity-augmentation", "balanced"), mitigates="minilm-l6",
                   what="MiniLM-L6 plus non-toxic identity sentences, balanced per term"),
        Experiment("minilm-l6-debiased-statements", "run_finetune.py",
                   ("--model", "minilm-l6", "--identity-augmentation", "balanced-statements"),
                   mitigates="minilm-l6", what="the same with statements that someone is the term"),
        *_small_students(),
    )
}  # fmt: skip

# Paired comparisons beyond the references (toxiclf.evaluation.comparisons): each KD student against its CE-only twin
# (what
# distillation adds at the same init, rows and steps), each smaller student against the model it was cut from, and
# each other layer choice against the alternate one, distilled alike (which layers to keep).
SHIPPED = SHIPPED_MODELS["default"].results_name  # run_eval.py's name for the shipped model folder
_ALTERNATE = student_name(LAYER_CHOICES[0], "kd")
STUDENT_PAIRS = tuple(
    pair
    for layers in SMALL_STUDENT_LAYERS
    for kd, ce in [(student_name(layers, "kd"), student_name(layers, "ce"))]
    for pair in (
        (kd, ce),
        (kd, SHIPPED),
        (ce, SHIPPED),
        (kd + SERVED_SUFFIX, SHIPPED),  # as served
        (ce + SERVED_SUFFIX, SHIPPED),
        *([(kd, _ALTERNATE)] if layers in LAYER_CHOICES[1:] else []),
    )
)

# The CPU queue: what the odd / even / LoRA table still lacks (the other models' results are committed).
CPU_PLAN = ("teacher", "student-even", "lora", "student-odd-ce")
# Then the smaller students (issue: where distillation pays): the alternate layers' KD and CE-only pair first (what
# distillation adds), then the other layer choices distilled (which layers to keep), then the pairs at the other
# sizes (where distillation pays), then the CE-only twins of the other layer choices.
SMALL_PLAN = (
    student_name(LAYER_CHOICES[0], "kd"),
    student_name(LAYER_CHOICES[0], "ce"),
    *(student_name(layers, "kd") for layers in LAYER_CHOICES[1:]),
    *(student_name(layers, kind) for layers in OTHER_SIZES for kind in ("kd", "ce")),
    *(student_name(layers, "ce") for layers in LAYER_CHOICES[1:]),
)


@dataclass(frozen=True)
class PlanFlags:
    """What a plan adds to the commands of its steps (each model's own flags come from its Experiment)."""

    training: tuple[str, ...]
    mitigating: tuple[str, ...] = ()  # training a model that mitigates bias
    templated: tuple[str, ...] = ()  # training a model with templated sentences (the shipped model's recipe)
    soft_labels: tuple[str, ...] = ()
    evaluation: tuple[str, ...] = ()
    pack: tuple[str, ...] = ()


# One CPU epoch, the validation subset the checkpoints are judged on, checkpoints every --save-steps (the runner's).
CPU_FLAGS = PlanFlags(training=("--num-train-epochs", "1", "--max-eval-samples", "2000", "--logging-steps", "50"))
GPU_FLAGS = PlanFlags(training=("--num-train-epochs", "2", "--per-device-train-batch-size", "128"))
# The GPU run's dry run on a CPU: the same steps on 64 rows. 'balanced' identity augmentation adds at least 50
# sentences per term, thousands to 64 training rows: a fixed count instead (the last flag wins); the same for the
# templated sentences. (A student of the stored soft labels cannot run so: they fit the whole recipe's rows alone.)
GPU_DRY_RUN_FLAGS = PlanFlags(
    training=("--max-train-samples", "64", "--max-eval-samples", "32", "--num-train-epochs", "1",
              "--per-device-train-batch-size", "32", "--max-seq-length", "64"),
    mitigating=("--identity-augmentation", "32"),
    templated=("--identity-augmentation", "32", "--robustness-augmentation", "32"),
    soft_labels=("--max-rows", "64", "--max-seq-length", "64"),
    evaluation=("--max-eval-samples", "100"),
    pack=("--allow-subset",),
)  # fmt: skip
# The smaller students' recipe wherever they train: the CPU epoch, with a checkpoint (and a look at the validation
# subset that picks the best one) every 200 steps. On a GPU too, so that its replicate is the same recipe.
SMALL_STUDENT_FLAGS = PlanFlags(training=(*CPU_FLAGS.training, "--save-steps", "200"))


@dataclass(frozen=True)
class GpuPhase:
    """One call's work on a GPU machine: what it trains, in order, then what it scores where trained and not
    scored since; and what it packs to send back."""

    trains: tuple[str, ...]
    scores: tuple[str, ...]
    packs: str | None = None  # the model packed; None: the best small one
    packs_no_model: bool = False  # the results alone (models that are not shipped)
    flags: PlanFlags = GPU_FLAGS
    concurrent: bool = False  # train all at once: one small model leaves most of a GPU idle
    references: tuple[str, ...] = ()  # committed results (and test scores) copied beside them, to be compared with


# The GPU run's phases, each sized to end well inside one call. "soft labels" is the ensemble's soft-label step
# (toxiclf.training.soft_labels), between the models it needs and the students it feeds.
SOFT_LABELS_STEP = "soft labels"
ENSEMBLE_TEACHERS = ("teacher", "minilm-l6")  # whose logits the ensemble's soft labels average
GPU_PHASES = {
    "teacher": GpuPhase(("teacher",), ()),
    "train": GpuPhase(SEED_TABLE, ()),
    "evaluate": GpuPhase(("minilm-l6",), (*SEED_TABLE, "minilm-l6")),
    "ensemble": GpuPhase(("minilm-l6", SOFT_LABELS_STEP, "minilm-l6-ens", "student-odd-ens"),
                         ("teacher", "minilm-l6", "minilm-l6-ens", "student-odd-ens")),
    "debias": GpuPhase(("minilm-l6-debiased",), ("minilm-l6-debiased",), packs="minilm-l6-debiased"),
    "debias-statements": GpuPhase(("minilm-l6-debiased-statements",), ("minilm-l6-debiased-statements",),
                                  packs="minilm-l6-debiased-statements"),
    # Every smaller student again, on the CPU recipe, all at once: a replicate of the CPU table with every pair
    # trained on one device (results/gpu-small, a table of its own). The shipped model's committed scores are
    # compared with, not scored again: on a GPU it scores in bf16, outside the tolerance of its canaries.
    "small": GpuPhase(SMALL_PLAN, SMALL_PLAN, packs_no_model=True, flags=SMALL_STUDENT_FLAGS, concurrent=True,
                      references=(SHIPPED,)),
}  # fmt: skip
ALL_GPU_PHASES = ("train", "evaluate", "ensemble")  # `all`
SMALL_MODELS = tuple(name for name, e in EXPERIMENTS.items() if e.small)
# Two mitigations of one model are weighed in this order, the second against whichever holds the place then.
MITIGATIONS = {name: e.mitigates for name, e in EXPERIMENTS.items() if e.mitigates}


def default_checkpoints(run_dir: Path = OUTPUTS_DIR) -> dict[str, Path]:
    """Where run_eval.py looks for each model when no --checkpoints is given."""
    return {name: e.checkpoint(run_dir) for name, e in EXPERIMENTS.items() if not e.mitigates}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="action", required=True)
    commands.add_parser("list", help="every experiment: name, script, flags, role")
    command = commands.add_parser("command", help="the command line that trains NAME (without the plan's flags)")
    command.add_argument("name", choices=sorted(EXPERIMENTS))
    command.add_argument("--run-dir", type=Path, default=OUTPUTS_DIR, help="where the models of this run go")
    checkpoint = commands.add_parser("checkpoint", help="the servable checkpoint folder of NAME")
    checkpoint.add_argument("name", choices=sorted(EXPERIMENTS))
    checkpoint.add_argument("--run-dir", type=Path, default=OUTPUTS_DIR)
    plan = commands.add_parser("plan", help="the names of a plan, in order")
    plan.add_argument("plan", choices=["cpu", *GPU_PHASES])
    args = parser.parse_args(argv)
    if args.action == "list":
        for e in EXPERIMENTS.values():
            role = "small" if e.small else (f"mitigates {e.mitigates}" if e.mitigates else "")
            print(f"{e.name:32} {e.script:16} {' '.join(e.flags):60} {role:24} {e.what}")
    elif args.action == "command":
        print(" ".join(EXPERIMENTS[args.name].command(args.run_dir)))
    elif args.action == "checkpoint":
        print(EXPERIMENTS[args.name].checkpoint(args.run_dir))
    else:
        print(" ".join(CPU_PLAN if args.plan == "cpu" else GPU_PHASES[args.plan].trains))
    return 0


if __name__ == "__main__":
    sys.exit(main())
