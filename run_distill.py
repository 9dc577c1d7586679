"""Distil the fine-tuned 12-layer teacher into a 6-layer student built from its odd or even layers.

    accelerate launch run_distill.py --layers odd             # -> outputs/student-odd
    accelerate launch run_distill.py --layers even            # -> outputs/student-even
    python run_distill.py --layers odd --alpha-kl 0 --alpha-cos 0 --output-dir outputs/student-odd-ce

Run `python run_finetune.py` first: the teacher must be fine-tuned on this task (distilling from an untrained
classification head teaches the student nothing).
"""

import argparse
import logging

from transformers import set_seed

from distill_trainer import DistillationTrainer
from toxiclf import training
from toxiclf.models import TEACHER_LAYERS, build_student, is_toxicity_classifier, load_model_and_tokenizer
from toxiclf.paths import OUTPUTS_DIR

logger = logging.getLogger(__name__)

DEFAULT_TEACHER_DIR = OUTPUTS_DIR / "teacher"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=str(DEFAULT_TEACHER_DIR), help="fine-tuned teacher folder")
    parser.add_argument("--layers", choices=sorted(TEACHER_LAYERS), required=True, help="teacher layers to keep")
    parser.add_argument("--temperature", type=float, default=2.0, help="softmax temperature of the KL term")
    parser.add_argument("--alpha-ce", type=float, default=1, help="relative weight of cross-entropy on the labels")
    parser.add_argument("--alpha-kl", type=float, default=1, help="relative weight of KL to the teacher's logits")
    parser.add_argument("--alpha-cos", type=float, default=1, help="relative weight of the hidden-state cosine loss")
    parser.add_argument(
        "--align-layers", action="store_true",
        help="cosine loss on every student layer against its source teacher layer (default: last layer only)",
    )  # fmt: skip
    training.add_common_args(parser, output_dir=None, learning_rate=5e-5, epochs=2)
    args = parser.parse_args(argv)
    training.check_common_args(parser, args)
    if args.output_dir is None:
        args.output_dir = OUTPUTS_DIR / f"student-{args.layers}"
    if args.temperature <= 0:
        parser.error(f"--temperature must be positive, got {args.temperature}")
    weights = (args.alpha_ce, args.alpha_kl, args.alpha_cos)
    if min(weights) < 0 or sum(weights) == 0:
        parser.error("--alpha-ce/--alpha-kl/--alpha-cos must be non-negative and not all zero")
    # The weights are relative: scaled to sum to 1, so that `--alpha-kl 0 --alpha-cos 0` trains on plain CE (not
    # CE/3, which gradient clipping and the learning rate would treat as another run).
    args.alpha_ce, args.alpha_kl, args.alpha_cos = (w / sum(weights) for w in weights)
    return args


def main(argv=None):
    args = parse_args(argv)
    training.configure_logging()
    training.log_args(args)
    set_seed(args.seed)

    try:
        finetuned = is_toxicity_classifier(args.teacher)
    except (OSError, ValueError) as error:  # a missing folder reads as a bad hub id
        raise SystemExit(
            f"error: cannot load the teacher {args.teacher!r}; run `python run_finetune.py` first ({error})"
        ) from None
    if not finetuned:
        raise SystemExit(f"error: {args.teacher} is not fine-tuned on this task; run `python run_finetune.py` first")
    teacher, tokenizer = load_model_and_tokenizer(args.teacher)
    student = build_student(teacher, args.layers)
    train, validation, data_source = training.load_training_data(args, tokenizer)

    trainer = DistillationTrainer(
        model=student,
        **training.trainer_inputs(args, tokenizer, train, validation),
        teacher=teacher,
        temperature=args.temperature,
        alpha_ce=args.alpha_ce,
        alpha_kl=args.alpha_kl,
        alpha_cos=args.alpha_cos,
        layer_map=TEACHER_LAYERS[args.layers] if args.align_layers else None,
    )
    method = "distillation" if args.alpha_kl or args.alpha_cos else "cross-entropy only (no teacher signal)"
    metrics = training.train_and_save(
        trainer, args, data_source=data_source,
        extra_config={"method": method, "teacher": args.teacher, "teacher_layers": list(TEACHER_LAYERS[args.layers])},
    )  # fmt: skip
    logger.info("Validation ROC-AUC %.4f", metrics["eval_roc_auc"])
    return metrics


if __name__ == "__main__":
    main()
