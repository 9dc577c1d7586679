"""LoRA fine-tune of the full pre-trained 12-layer model (peft), saved as an adapter and as a merged model.

python run_lora.py                                        # -> outputs/lora (adapter), outputs/lora/merged
accelerate launch run_lora.py --max-train-samples 256
"""

import argparse
import logging
import shutil

from peft import LoraConfig, TaskType, get_peft_model
from transformers import Trainer, set_seed

from toxiclf.paths import OUTPUTS_DIR
from toxiclf.training import common as training
from toxiclf.training.arguments import DataArguments, from_namespace
from toxiclf.training.models import DEFAULT_TEACHER, load_model_and_tokenizer

logger = logging.getLogger(__name__)

MERGED_SUBDIR = "merged"  # what run_eval.py and the app load: a plain transformers checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", "--model-name-or-path", dest="model", default=DEFAULT_TEACHER,
        help="pre-trained (not fine-tuned) base model: 'e5-small', a hub id or a local folder",
    )  # fmt: skip
    parser.add_argument("--lora-r", type=int, default=8, help="LoRA rank")
    parser.add_argument("--lora-alpha", type=int, default=32, help="LoRA scaling numerator (scale = alpha / r)")
    parser.add_argument("--lora-dropout", type=float, default=0.1, help="dropout on the LoRA input")
    parser.add_argument(
        "--target-modules", nargs="+", default=["query", "value"], help="linear layers that get LoRA matrices"
    )
    training.add_common_args(parser, output_dir=OUTPUTS_DIR / "lora", learning_rate=5e-4, epochs=2)
    args = parser.parse_args(argv)
    training.check_common_args(parser, args)
    if args.lora_r < 1:
        parser.error(f"--lora-r must be positive, got {args.lora_r}")
    return args


def lora_model(base_model, args):
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=args.target_modules,
        # SEQ_CLS already trains the classifier; the pooler is fresh too (e5 ships none), so it must learn.
        modules_to_save=["classifier", "pooler"],
    )
    return get_peft_model(base_model, config)


def trainable_parameters(model) -> dict:
    trainable, total = model.get_nb_trainable_parameters()
    return {"trainable_parameters": trainable, "total_parameters": total, "trainable_share": trainable / total}


def main(argv=None):
    args = parse_args(argv)
    training.configure_logging()
    training.log_args(args)
    set_seed(args.seed)

    base_model, tokenizer = load_model_and_tokenizer(args.model)
    model = lora_model(base_model, args)
    parameters = trainable_parameters(model)
    logger.info("Trainable parameters: %s", parameters)
    train, validation, data_source = training.load_training_data(from_namespace(DataArguments, args), tokenizer)

    trainer = Trainer(
        model=model,
        # peft hides the forward signature, from which the Trainer would infer the label column
        **training.trainer_inputs(args, tokenizer, train, validation, label_names=["labels"]),
    )
    metrics = training.train_and_save(
        trainer, args, data_source=data_source,
        extra_config={"method": "LoRA", "base_model": args.model, **parameters,
                      "lora": {"r": args.lora_r, "alpha": args.lora_alpha, "dropout": args.lora_dropout,
                               "target_modules": args.target_modules}},
    )  # fmt: skip
    if trainer.is_world_process_zero():
        # merge_and_unload returns the merged model (it is not in place); serve that one.
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(args.output_dir / MERGED_SUBDIR)
        tokenizer.save_pretrained(args.output_dir / MERGED_SUBDIR)
        # the run record beside the weights it describes, so that every reader finds it where it finds any model's
        shutil.copy(args.output_dir / training.RUN_CONFIG_FILE, args.output_dir / MERGED_SUBDIR)
    logger.info("Validation ROC-AUC %.4f", metrics["eval_roc_auc"])
    return metrics


if __name__ == "__main__":
    main()
