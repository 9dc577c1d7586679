"""Distil a fine-tuned teacher into a smaller student: the teacher's odd or even layers, or chosen layers of any model.

    accelerate launch run_distill.py --layers odd             # -> outputs/student-odd
    accelerate launch run_distill.py --layers even            # -> outputs/student-even
    python run_distill.py --layers odd --alpha-kl 0 --alpha-cos 0 --output-dir outputs/student-odd-ce
    python -m toxiclf.training.soft_labels --teachers outputs/teacher outputs/minilm-l6  # once: ensemble soft labels
    python run_distill.py --student-init odd --soft-labels outputs/soft_labels.npz --output-dir outputs/student-odd-ens
    python run_distill.py --student-init minilm-l6 --soft-labels outputs/soft_labels.npz --alpha-cos 0 \\
        --output-dir outputs/minilm-l6-ens
    python run_distill.py --student-init model --student-layers 1,3,5 --soft-labels soft_labels/shipped.npz \\
        --alpha-cos 0 --output-dir outputs/student-3l-135     # a 3-layer student of the shipped model

Run `python run_finetune.py` first: the teacher must be fine-tuned on this task (distilling from an untrained
classification head teaches the student nothing). With `--soft-labels` the KL term reads the stored logits and no
teacher runs, unless the cosine term needs its hidden states (same tokenizer and hidden size only).
"""

import argparse
import logging
from pathlib import Path

from transformers import set_seed

from toxiclf.paths import OUTPUTS_DIR
from toxiclf.training import common as training
from toxiclf.training.arguments import DataArguments, DistillationArguments, typed
from toxiclf.training.distill_trainer import DistillationTrainer
from toxiclf.training.models import (
    TEACHER_LAYERS,
    build_student,
    is_toxicity_classifier,
    load_model_and_tokenizer,
    one_based_layers,
)

logger = logging.getLogger(__name__)

DEFAULT_TEACHER_DIR = OUTPUTS_DIR / "teacher"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=str(DEFAULT_TEACHER_DIR), help="fine-tuned teacher folder")
    parser.add_argument(
        "--student-init", "--layers", dest="student_init",
        help="odd | even (the teacher's layers 1,3,..,11 or 2,4,..,12), minilm-l6, or a model folder",
    )  # fmt: skip
    parser.add_argument(
        "--student-layers", type=one_based_layers, metavar="1,3,5",
        help="keep only these layers (one-based, in this order) of the --student-init model: a smaller student",
    )  # fmt: skip
    parser.add_argument(
        "--soft-labels", type=Path, help="stored teacher logits (python -m toxiclf.training.soft_labels)"
    )
    parser.add_argument("--temperature", type=float, default=2.0, help="softmax temperature of the KL term")
    parser.add_argument("--alpha-ce", type=float, default=1, help="relative weight of cross-entropy on the labels")
    parser.add_argument("--alpha-kl", type=float, default=1, help="relative weight of KL to the teacher's logits")
    parser.add_argument("--alpha-cos", type=float, default=1, help="relative weight of the hidden-state cosine loss")
    parser.add_argument(
        "--align-layers", action="store_true",
        help="cosine loss on every student layer against its source teacher layer (default: last layer only)",
    )  # fmt: skip
    parser.add_argument(
        "--added-rows-kl-share", type=float, default=1.0, metavar="F",
        help="the share of --alpha-kl that the added rows (identity, templated sentences, tweets) keep; the rest "
        "goes to cross-entropy on their labels. 0: they learn from their labels only, the comments from the "
        "teacher too (learning without forgetting; default 1: every row alike)",
    )  # fmt: skip
    parser.add_argument(
        "--added-rows-weight", type=float, default=1.0, metavar="W",
        help="each added row's loss counts W times a comment's (default 1): a few thousand templated sentences "
        "against a hundred thousand comments",
    )  # fmt: skip
    parser.add_argument(
        "--knowledge-adjustment", choices=("none", "added-rows", "all"), default="none",
        help="with --soft-labels: where the stored teacher's answer is not a row's label, swap its two logits "
        "(Wen et al., 2019), on the added rows or on all rows (default none: the teacher as it is)",
    )  # fmt: skip
    parser.add_argument(
        "--alpha-clp", type=float, default=0.0, metavar="W",
        help="counterfactual logit pairing (Garg et al., 2019): add W times the mean gap of the toxic log-odds of a "
        "benign sentence naming a group and its twin naming another (default 0: off); not scaled with the alphas",
    )  # fmt: skip
    parser.add_argument(
        "--counterfactual-pairs",
        type=int,
        default=20000,
        metavar="N",
        help="with --alpha-clp: at most N pairs, cut from the non-toxic training comments",
    )
    parser.add_argument(
        "--clp-pairs-per-step",
        type=int,
        default=8,
        metavar="N",
        help="with --alpha-clp: pairs scored beside each training batch (default 8)",
    )
    training.add_common_args(parser, output_dir=None, learning_rate=5e-5, epochs=2)
    args = parser.parse_args(argv)
    training.check_common_args(parser, args)
    if not args.student_init:
        parser.error("give --layers odd|even, or --student-init odd|even|minilm-l6|PATH")
    if args.student_layers and args.student_init in TEACHER_LAYERS:
        parser.error("--student-layers picks layers of a model folder (--student-init PATH); odd / even pick their own")
    if args.output_dir is None:
        layers = "-l" + "".join(map(str, args.student_layers)) if args.student_layers else ""
        args.output_dir = OUTPUTS_DIR / f"student-{Path(args.student_init).name}{layers}"
    if args.temperature <= 0:
        parser.error(f"--temperature must be positive, got {args.temperature}")
    weights = (args.alpha_ce, args.alpha_kl, args.alpha_cos)
    if min(weights) < 0 or sum(weights) == 0:
        parser.error("--alpha-ce/--alpha-kl/--alpha-cos must be non-negative and not all zero")
    # The weights are relative: scaled to sum to 1, so that `--alpha-kl 0 --alpha-cos 0` trains on plain CE (not
    # CE/3, which gradient clipping and the learning rate would treat as another run).
    args.alpha_ce, args.alpha_kl, args.alpha_cos = (w / sum(weights) for w in weights)
    if not 0 <= args.added_rows_kl_share <= 1:
        parser.error(f"--added-rows-kl-share must be between 0 and 1, got {args.added_rows_kl_share}")
    if args.added_rows_weight <= 0:
        parser.error(f"--added-rows-weight must be positive, got {args.added_rows_weight}")
    if args.knowledge_adjustment != "none" and not args.soft_labels:
        parser.error("--knowledge-adjustment changes stored teacher logits: give --soft-labels")
    per_row = [f"--{flag.replace('_', '-')}" for flag in ("added_rows_kl_share", "added_rows_weight")
               if getattr(args, flag) != 1]  # fmt: skip
    if args.knowledge_adjustment == "added-rows":
        per_row.append("--knowledge-adjustment added-rows")
    has_added_rows = (args.identity_augmentation or args.robustness_augmentation or args.davidson
                      or args.group_sentences != "none")  # fmt: skip
    if per_row and not has_added_rows:
        parser.error(f"{per_row[0]} needs added rows: --identity-augmentation, --group-sentences, "
                     "--robustness-augmentation or --davidson")  # fmt: skip
    if args.alpha_clp < 0:
        parser.error(f"--alpha-clp must be non-negative, got {args.alpha_clp}")
    if args.counterfactual_pairs < 1 or args.clp_pairs_per_step < 1:
        parser.error("--counterfactual-pairs and --clp-pairs-per-step must be at least 1")
    if args.align_layers and args.student_init not in TEACHER_LAYERS:
        parser.error("--align-layers pairs layers copied from the teacher: use it with --student-init odd|even")
    return args


def load_teacher(path: str):
    try:
        finetuned = is_toxicity_classifier(path)
    except (OSError, ValueError) as error:  # a missing folder reads as a bad hub id
        raise SystemExit(
            f"error: cannot load the teacher {path!r}; run `python run_finetune.py` first ({error})"
        ) from None
    if not finetuned:
        raise SystemExit(f"error: {path} is not fine-tuned on this task; run `python run_finetune.py` first")
    return load_model_and_tokenizer(path)


def same_vocabulary(tokenizer, other) -> bool:
    return tokenizer.get_vocab() == other.get_vocab()


def student_and_teacher(args):
    """(student, its tokenizer, the live teacher or None): a teacher runs only where a loss term needs it."""
    needs_teacher = args.alpha_cos > 0 or (args.alpha_kl > 0 and args.soft_labels is None)
    if args.student_init in TEACHER_LAYERS:
        teacher, tokenizer = load_teacher(args.teacher)
        return build_student(teacher, args.student_init), tokenizer, teacher if needs_teacher else None
    student, tokenizer = load_model_and_tokenizer(args.student_init)
    if args.student_layers:
        layers = student.config.num_hidden_layers
        if max(args.student_layers) > layers:
            raise SystemExit(f"error: --student-layers {args.student_layers}: {args.student_init} has {layers} layers")
        student = build_student(student, tuple(i - 1 for i in args.student_layers))
    if not needs_teacher:
        return student, tokenizer, None
    teacher, teacher_tokenizer = load_teacher(args.teacher)
    if not same_vocabulary(tokenizer, teacher_tokenizer) or student.config.hidden_size != teacher.config.hidden_size:
        raise SystemExit(
            f"error: {args.student_init} does not share the teacher's tokenizer and hidden size, so a live teacher "
            "cannot teach it: use --soft-labels FILE with --alpha-cos 0"
        )
    return student, tokenizer, teacher


def main(argv=None):
    args = parse_args(argv)
    training.configure_logging()
    training.log_args(args)
    set_seed(args.seed)

    soft_labels = None
    if args.soft_labels:
        from toxiclf.training.soft_labels import SoftLabels

        try:
            soft_labels = SoftLabels(args.soft_labels)
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
    student, tokenizer, teacher = student_and_teacher(args)
    data, distillation = typed(args, DataArguments, DistillationArguments)
    train, validation, data_source = training.load_training_data(data, tokenizer, soft_labels, distillation)

    pairs = training.counterfactual_pairs(data, distillation, tokenizer) if args.alpha_clp else None

    keeps_columns = soft_labels is not None or args.added_rows_kl_share != 1 or args.added_rows_weight != 1
    trainer = DistillationTrainer(
        model=student,
        # Keep `teacher_logits`, `kl_share` and `row_weight`: the student's forward does not take them, the loss does.
        **training.trainer_inputs(args, tokenizer, train, validation, remove_unused_columns=not keeps_columns),
        teacher=teacher,
        temperature=args.temperature,
        alpha_ce=args.alpha_ce,
        alpha_kl=args.alpha_kl,
        alpha_cos=args.alpha_cos,
        layer_map=TEACHER_LAYERS[args.student_init] if args.align_layers else None,
        counterfactual_pairs=pairs,
        alpha_clp=args.alpha_clp,
    )
    method = "distillation" if args.alpha_kl or args.alpha_cos else "cross-entropy only (no teacher signal)"
    extra = {"method": method, "teacher": args.teacher, "student_init": args.student_init,
             "soft_labels": soft_labels.provenance if soft_labels else None}  # fmt: skip
    if pairs is not None:
        extra["counterfactual_pairs"] = len(pairs)
    if args.student_init in TEACHER_LAYERS:
        extra["teacher_layers"] = list(TEACHER_LAYERS[args.student_init])
    if args.student_layers:
        extra["student_layers"] = list(args.student_layers)  # one-based layers of --student-init
    metrics = training.train_and_save(trainer, args, data_source=data_source, extra_config=extra)
    logger.info("Validation ROC-AUC %.4f", metrics["eval_roc_auc"])
    return metrics


if __name__ == "__main__":
    main()
