"""The training scripts' arguments as typed dataclasses, grouped by what they decide (after run_glue.py's).

The scripts keep their argparse parsers: they own aliases (`--layers`), value parsers (`--student-layers 1,3,5`) and
usage errors that users and tests rely on, which HfArgumentParser would rebuild differently. Right after parsing and
checking, a script turns its Namespace into these dataclasses once (`from_namespace`), and data loading receives
them. A recipe file (toxiclf.training.recipes) is read into the same dataclasses by HfArgumentParser.parse_dict,
which refuses a key no dataclass has; a test holds each script's flags and its dataclasses' fields equal.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..data.splits import DEFAULT_MAX_LENGTH, DEFAULT_SEED, EMBEDDED


def arg(default, help: str, **metadata):
    """A field with its default and its help text (HfArgumentParser reads `help` from the metadata)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


@dataclass
class Typed:
    """Checks (and converts, as argparse would) each value against its field's type: a recipe's JSON holds text
    and numbers, and parse_dict hands them over as they are."""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            try:
                setattr(self, item.name, _as_type(value, hints[item.name]))
            except (TypeError, ValueError):
                raise ValueError(f"{item.name}: {value!r} is not {_type_name(hints[item.name])}") from None


def _as_type(value, kind):
    options = typing.get_args(kind)
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in options:
            return None
        for option in sorted((o for o in options if o is not type(None)), key=lambda o: o is str):  # str last
            try:
                return _as_type(value, option)
            except (TypeError, ValueError):
                continue
        raise ValueError(value)
    if origin is Literal:
        if value not in options:
            raise ValueError(value)
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise TypeError(value)
        return origin(_as_type(item, options[0]) for item in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(value)
        return value
    if kind is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            raise TypeError(value)
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(value)
        return float(value)
    if kind in (str, Path):
        if not isinstance(value, str | Path):
            raise TypeError(value)
        return kind(value)
    return value


def _type_name(kind) -> str:
    return getattr(kind, "__name__", None) if isinstance(kind, type) else str(kind).replace("pathlib.", "")


@dataclass
class RowArguments(Typed):
    """Which rows a run trains on: the data, its split and length, and the rows the flags add. Soft labels are
    made for these same rows, so toxiclf.training.soft_labels takes them too."""

    dataset: str = arg(EMBEDDED, "'embedded' (default), a hub id, or a local folder")
    seed: int = arg(DEFAULT_SEED, "seed for the split, init and shuffling")
    max_seq_length: int = arg(DEFAULT_MAX_LENGTH, "truncate comments")
    identity_augmentation: int | str = arg(0, "N identity sentences, 'balanced' or 'balanced-statements'")
    group_sentences: Literal["none", "balanced"] = arg("none", "benign group sentences, balanced per term and length")
    robustness_augmentation: int = arg(0, "N templated sentences that pair the same words with both labels")
    davidson: Path | None = arg(None, "Davidson et al.'s labelled tweets CSV, as extra training rows")
    davidson_samples: int | None = arg(None, "with davidson: how many tweets (default 5,000)")


@dataclass
class DataArguments(RowArguments):
    """What a training run reads: the rows, cut to a quick run's size, some spelt with disguises."""

    max_train_samples: int | None = arg(None, "train on the first N training rows")
    max_eval_samples: int | None = arg(None, "validate on the first N validation rows")
    noise_share: float = arg(0.0, "spell this share of the comments and identity sentences with disguises")
    template_noise_share: float = arg(0.0, "spell this share of the templated sentences with disguises")
    joined_phrase_share: float = arg(0.0, "of the disguised rows, this share also gets words written as one")


@dataclass
class DistillationArguments(Typed):
    """run_distill.py: the student's start, its teacher (live or stored) and how the loss weighs them."""

    student_init: str | None = arg(None, "odd | even (the teacher's layers), minilm-l6, or a model folder",
                                   aliases=["--layers"])  # fmt: skip
    student_layers: tuple[int, ...] | None = arg(None, "keep only these layers (one-based) of student_init")
    teacher: str | None = arg(None, "fine-tuned teacher folder (default: outputs/teacher)")
    soft_labels: Path | None = arg(None, "stored teacher logits (python -m toxiclf.training.soft_labels)")
    temperature: float = arg(2.0, "softmax temperature of the KL term")
    alpha_ce: float = arg(1.0, "relative weight of cross-entropy on the labels")
    alpha_kl: float = arg(1.0, "relative weight of KL to the teacher's logits")
    alpha_cos: float = arg(1.0, "relative weight of the hidden-state cosine loss")
    align_layers: bool = arg(False, "cosine loss on every student layer against its source teacher layer")
    added_rows_kl_share: float = arg(1.0, "the share of alpha_kl that the added rows keep")
    added_rows_weight: float = arg(1.0, "each added row's loss counts this many times a comment's")
    knowledge_adjustment: Literal["none", "added-rows", "all"] = arg(
        "none", "swap the stored logits of a row whose teacher contradicts its label"
    )
    alpha_clp: float = arg(0.0, "weight of counterfactual logit pairing (0: off), added to the blended loss")
    counterfactual_pairs: int = arg(20000, "with alpha_clp: at most this many pairs from the training comments")
    clp_pairs_per_step: int = arg(8, "with alpha_clp: pairs scored beside each training batch")


@dataclass
class ModelArguments(Typed):
    """run_finetune.py and run_lora.py: the model they start from."""

    model: str | None = arg(None, "'e5-small', 'minilm-l6', a hub id or a local folder (default: the script's)",
                            aliases=["--model-name-or-path"])  # fmt: skip


@dataclass
class LoraArguments(Typed):
    """run_lora.py: the adapter's shape."""

    lora_r: int = arg(8, "LoRA rank")
    lora_alpha: int = arg(32, "LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = arg(0.1, "dropout on the LoRA input")
    target_modules: list[str] = arg(["query", "value"], "linear layers that get LoRA matrices")


@dataclass
class TrainingOptions(Typed):
    """The TrainingArguments the scripts expose (toxiclf.training.common.training_arguments builds the rest).
    None: the script's own default (each script has its output folder, learning rate and epochs)."""

    output_dir: Path | None = arg(None, "where checkpoints and the model go")
    overwrite_output_dir: bool = arg(False, "train afresh into a non-empty folder")
    num_train_epochs: float | None = arg(None, "training epochs")
    learning_rate: float | None = arg(None, "peak learning rate")
    per_device_train_batch_size: int = arg(32, "training batch per device")
    per_device_eval_batch_size: int = arg(128, "evaluation batch per device")
    gradient_accumulation_steps: int = arg(1, "micro-batches per step")
    weight_decay: float = arg(0.01, "AdamW weight decay")
    warmup_ratio: float = arg(0.06, "share of steps with linear warmup")
    save_steps: int | None = arg(None, "checkpoint and validate every N steps (default: each epoch)")
    logging_steps: int = arg(50, "log the loss every N steps")
    no_bf16: bool = arg(False, "train in fp32 even where bf16 is native")


# Each training script's arguments, in the order its recipe is read into them.
SCRIPT_ARGUMENTS = {
    "run_finetune.py": (ModelArguments, DataArguments, TrainingOptions),
    "run_lora.py": (ModelArguments, LoraArguments, DataArguments, TrainingOptions),
    "run_distill.py": (DistillationArguments, DataArguments, TrainingOptions),
}


def from_namespace(kind: type, namespace):
    """One dataclass of an argparse Namespace's values (the Namespace has every field: a script's flags)."""
    return kind(**{item.name: vars(namespace)[item.name] for item in dataclasses.fields(kind)})


def typed(namespace, *kinds: type) -> tuple:
    """A parsed and checked Namespace as the dataclasses `kinds`, in that order."""
    return tuple(from_namespace(kind, namespace) for kind in kinds)


def field_names(*kinds: type) -> set[str]:
    return {item.name for kind in kinds for item in dataclasses.fields(kind)}
