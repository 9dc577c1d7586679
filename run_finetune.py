"""Fine-tune a whole model on the toxic-comment data: the 12-layer teacher, or a small model directly.

python run_finetune.py                                    # e5-small teacher -> outputs/teacher
python run_finetune.py --model minilm-l6 --output-dir outputs/minilm-l6
accelerate launch run_finetune.py --max-train-samples 256 # a quick run, any device count
"""

import argparse
import logging

from transformers import Trainer, set_seed

from toxiclf.paths import OUTPUTS_DIR
from toxiclf.training import common as training
from toxiclf.training.arguments import DataArguments, from_namespace
from toxiclf.training.models import DEFAULT_TEACHER, load_model_and_tokenizer

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", "--model-name-or-path", dest="model", default=DEFAULT_TEACHER,
        help="'e5-small' (embedded teacher), 'minilm-l6' (embedded), a hub id or a local folder",
    )  # fmt: skip
    training.add_common_args(parser, output_dir=OUTPUTS_DIR / "teacher", learning_rate=5e-5, epochs=2)
    args = parser.parse_args(argv)
    training.check_common_args(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    training.configure_logging()
    training.log_args(args)
    set_seed(args.seed)

    model, tokenizer = load_model_and_tokenizer(args.model)
    train, validation, data_source = training.load_training_data(from_namespace(DataArguments, args), tokenizer)
    trainer = Trainer(
        model=model,
        **training.trainer_inputs(args, tokenizer, train, validation),
    )
    metrics = training.train_and_save(
        trainer, args, data_source=data_source, extra_config={"method": "full fine-tune", "base_model": args.model}
    )
    logger.info("Validation ROC-AUC %.4f", metrics["eval_roc_auc"])
    return metrics


if __name__ == "__main__":
    main()
