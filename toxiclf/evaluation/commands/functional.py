"""`run_eval.py functional`: the functional suite's pass rates (toxiclf.evaluation.functional_suite) of each
checkpoint at its served threshold, and of TF-IDF -> results/functional.json, functional.png.

    python run_eval.py functional --normalise --backend onnx-int8 --checkpoints shipped=model
"""

import argparse
import logging

import numpy as np

from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN
from toxiclf.evaluation.baselines import TfidfBaseline
from toxiclf.evaluation.commands.common import baseline_rows, check_models, eval_splits
from toxiclf.inference.classifier import load_classifier, read_threshold
from toxiclf.paths import sha256_file, shown_path

logger = logging.getLogger(__name__)

SHARED = ("data", "results", "models", "baselines", "readme")


def arguments(lab) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--normalise", action="store_true", help="also score the suite normalised (toxiclf.inference.obfuscation)"
    )
    parser.add_argument(
        "--segment-joined-words",
        action="store_true",
        help="also score the suite normalised and with joined-up words split (+normalise +segment)",
    )
    parser.add_argument(
        "--restore-spelling",
        action="store_true",
        help="also score the suite normalised and with misspelt words repaired (+normalise +spelling; with "
        "--segment-joined-words, both as well)",
    )
    return parser


def check(parser, args, lab) -> None:
    check_models(parser, args, lab.default_checkpoints)


def run(args, lab) -> dict:
    from toxiclf.evaluation import functional_eval

    splits, _, validation = eval_splits(args)
    scorers = {}
    for name, path in args.checkpoints.items():
        classifier = load_classifier(path, args.backend, need_threshold=False, batch_size=args.batch_size)
        weights = path / "model.safetensors"
        scorers[name] = (classifier, read_threshold(path, classifier.backend),
                         {"path": shown_path(path), "backend": classifier.backend,
                          "model_sha256": sha256_file(weights) if weights.exists() else None})  # fmt: skip
    if not args.no_baselines:
        train = baseline_rows(args, splits["train"])
        tfidf = TfidfBaseline(seed=args.seed).fit(train[TEXT_COLUMN], np.array(train[LABEL_COLUMN]))
        scorers[tfidf.name] = (tfidf, None, {"path": None, "backend": "scikit-learn", "train_rows": len(train)})
    result = functional_eval.evaluate(scorers, validation[TEXT_COLUMN], validation[LABEL_COLUMN], args.results_dir,
                                      normalise=args.normalise, segment=args.segment_joined_words,
                                      spelling=args.restore_spelling)  # fmt: skip
    table = functional_eval.markdown_table(result["models"], functional_eval.table_models(result["models"]))
    if args.update_readme and lab.replace_doc_section("functional", table + "\n"):
        logger.info("Updated the functional-suite table (docs/robustness.md)")
    print(table)
    return result
