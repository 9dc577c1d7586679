"""Which layers to keep, asked before training: each cut of a model scored as it is, untrained, on validation.

    python -m research.layer_probe --layers 1,3,5 2,4,6 1,2,3 4,5,6 1,2 1,4 1,2,3,4 1,2,4,5

A student starts as a cut of the shipped model (toxiclf.training.models.build_student: the chosen layers, its
embeddings and
head); a cut that keeps more of the network's function starts closer to where training has to take it. The probe
scores each cut on a seeded sample of validation comments (ROC-AUC, scikit-learn) into results/layer_probe.json,
to set beside the validation ROC-AUC of the students trained from the same cuts (results/student-*.json): whether
a cheap look before training predicts the choice. It reads validation comments only: the test split stays
run_eval.py's.
"""

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from toxiclf.data.splits import DEFAULT_SEED, EMBEDDED, load_splits
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, shown_path
from toxiclf.provenance import command_line
from toxiclf.training.models import one_based_layers

logger = logging.getLogger(__name__)


def probe(model_dir, layer_choices: list[tuple[int, ...]], texts: list[str], labels: list[int]) -> dict[str, float]:
    """ROC-AUC on `texts` of each cut (one-based layers such as (1, 3, 5)) of `model_dir`, untrained, by "1,3,5"."""
    from sklearn.metrics import roc_auc_score

    from toxiclf.inference.classifier import Classifier
    from toxiclf.training.models import build_student

    scorer = Classifier(model_dir, calibrated=False, threshold=0.5)
    whole = scorer.model
    found = {}
    for choice in layer_choices:
        layers = ",".join(map(str, choice))
        scorer.model = build_student(whole, tuple(i - 1 for i in choice)).eval()
        logits = scorer.logits(texts)
        found[layers] = float(roc_auc_score(labels, logits[:, 1] - logits[:, 0]))
        logger.info("layers %s, untrained: ROC-AUC %.4f", layers, found[layers])
    return found


def validation_sample(rows: int, seed: int = DEFAULT_SEED) -> tuple[list[str], list[int]]:
    """A seeded sample of the validation comments and their labels."""
    validation = load_splits(EMBEDDED, seed)["validation"]
    chosen = np.random.default_rng(seed).choice(len(validation), size=min(rows, len(validation)), replace=False)
    return [validation[int(i)]["comment_text"] for i in chosen], [validation[int(i)]["label"] for i in chosen]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--layers", nargs="+", type=one_based_layers, required=True, help="one-based layer lists, e.g. 1,3,5 1,2"
    )
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="the model cut (default: shipped)")
    parser.add_argument("--rows", type=int, default=4000, help="validation comments scored (a seeded sample)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    untrained = probe(args.model, args.layers, *validation_sample(args.rows))
    cuts = [{"layers": layers, "untrained_validation_roc_auc": round(value, 5)} for layers, value in untrained.items()]
    output = args.results_dir / "layer_probe.json"
    record = {"model": shown_path(args.model), "validation_rows": args.rows, "seed": DEFAULT_SEED, "cuts": cuts,
              "command": command_line("research.layer_probe", argv)}  # fmt: skip
    output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
