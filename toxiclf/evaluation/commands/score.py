"""`run_eval.py score`: every model named (or found) and the baselines on the held-out test split, at thresholds
chosen on the validation split -> results/NAME.json, results/scores/NAME.npy, the paired comparisons, summary.md.

    python run_eval.py score --checkpoints odd=outputs/student-odd --no-baselines --update-readme
"""

import argparse
import functools
import gc
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from toxiclf.data.splits import ID_COLUMN, LABEL_COLUMN, TEXT_COLUMN, data_provenance
from toxiclf.evaluation.baselines import MajorityBaseline, TfidfBaseline
from toxiclf.evaluation.commands import report
from toxiclf.evaluation.commands.common import baseline_rows, check_models, eval_splits
from toxiclf.evaluation.comparisons import ids_checksum, save_scores, write_comparisons
from toxiclf.evaluation.scores import evaluate_scores, folder_size_mb, measure_cost
from toxiclf.inference.calibration import invert, reliability
from toxiclf.inference.classifier import load_classifier
from toxiclf.paths import sha256_file, shown_path
from toxiclf.provenance import device_info, git_commit, library_versions
from toxiclf.training.common import RUN_CONFIG_FILE

logger = logging.getLogger(__name__)

SHARED = ("data", "results", "models", "baselines", "bootstrap", "readme", "section")


def arguments(lab) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--device", help="cpu or cuda (default: cuda if available; torch backend only)")
    parser.add_argument("--baselines-only", action="store_true", help="score the baselines and no checkpoint")
    parser.add_argument("--no-cost", action="store_true", help="skip the CPU latency / throughput measurement")
    parser.add_argument(
        "--no-comparisons",
        action="store_true",
        help="write each model's results and test scores only, not the paired comparisons and summary.md (several "
        "scorings at once into one folder; then `compare`)",
    )
    return parser


def check(parser, args, lab) -> None:
    check_models(parser, args, lab.default_checkpoints)


def training_record(model_dir: Path) -> dict | None:
    """The run_config.json its training script wrote (run_lora.py writes one into merged/ too)."""
    path = model_dir / RUN_CONFIG_FILE
    return json.loads(path.read_text()) if path.exists() else None


def calibration_report(calibration: dict | None, labels, scores) -> dict:
    """ECE, Brier and reliability points of the served scores; with a calibration, of the raw scores too."""
    report = {"after" if calibration else "uncalibrated": reliability(labels, scores)}
    if calibration:
        raw = invert(calibration, scores)
        report["before"] = reliability(labels, raw)
        report["map"] = {k: v for k, v in calibration.items() if k in ("method", "temperature", "slope", "intercept")}
        report["roc_auc_before_after"] = [float(roc_auc_score(labels, raw)), float(roc_auc_score(labels, scores))]
    return report


def train_epochs(record: dict | None) -> float | None:
    return record["args"].get("num_train_epochs") if record else None


def train_rows(record: dict | None) -> int | None:
    if not record:
        return None
    return record["args"].get("max_train_samples") or record["data"]["split_sizes"]["train"]


def run(args, lab) -> list[dict]:
    splits, test, validation = eval_splits(args)
    source = data_provenance(args.dataset, args.seed, splits)
    test_texts, test_labels = test[TEXT_COLUMN], np.array(test[LABEL_COLUMN])
    test_ids_sha256 = ids_checksum(test[ID_COLUMN])
    val_texts, val_labels = validation[TEXT_COLUMN], np.array(validation[LABEL_COLUMN])
    logger.info("Scoring on %d test and %d validation comments", len(test_texts), len(val_texts))
    common = {
        "data": source,
        "eval_rows": {"test": len(test_texts), "validation": len(val_texts)},
        "max_eval_samples": args.max_eval_samples,
        "git_commit": git_commit(),
        "libraries": library_versions(),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    scored = []

    def record(name, method, scorer, *, params, trainable, size_mb, path, training, rows, cpu_scorer=None,
               weights_sha256=None):  # fmt: skip
        started = time.time()
        test_scores = scorer.scores(test_texts, args.batch_size, progress=True)
        val_scores = scorer.scores(val_texts, args.batch_size, progress=True)
        scoring_seconds = time.time() - started
        metrics = evaluate_scores(test_labels, test_scores, val_labels, val_scores, args.seed, args.bootstrap_resamples)
        save_scores(args.results_dir, name, test_scores, test_ids_sha256)  # for the paired comparisons
        metrics["calibration"] = calibration_report(getattr(scorer, "calibration", None), test_labels, test_scores)
        cost = {"parameters": params, "trainable_parameters": trainable, "size_mb": size_mb}
        if not args.no_cost:
            # Latency and throughput are CPU figures wherever the scoring ran: what a moderator's server sees.
            cpu_scorer = cpu_scorer() if cpu_scorer else scorer
            cost.update(measure_cost(cpu_scorer.scores, test_texts), device=device_info())
        result = {
            "model": name, "method": method, "path": path, "backend": getattr(scorer, "backend", None),
            "model_sha256": weights_sha256, "train_rows": rows, "train_epochs": train_epochs(training),
            "metrics": metrics, "cost": cost,
            "provenance": {**common, "training": training, "scoring_seconds": round(scoring_seconds, 1)},
        }  # fmt: skip
        (args.results_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        for flag in metrics["flags"]:
            logger.warning("%s is flagged: %s", name, flag)
        logger.info("%s: test ROC-AUC %.4f, F1 %.3f at validation threshold %.3f", name,
                    metrics["threshold_validation"]["roc_auc"], metrics["threshold_validation"]["f1"],
                    metrics["validation_threshold"])  # fmt: skip
        scored.append(result)

    if not args.no_baselines:
        train = baseline_rows(args, splits["train"])
        for baseline in (MajorityBaseline(), TfidfBaseline(seed=args.seed)):
            logger.info("Fitting %s on %d training comments", baseline.name, len(train))
            baseline.fit(train[TEXT_COLUMN], np.array(train[LABEL_COLUMN]))
            record(baseline.name, "baseline", baseline, params=baseline.num_parameters,
                   trainable=baseline.num_parameters, size_mb=None, path=None, training=None,
                   rows=len(train))  # fmt: skip

    for name, path in args.checkpoints.items():
        logger.info("Loading %s from %s", name, path)
        options = {"device": args.device} if args.backend == "torch" else {}
        classifier = load_classifier(path, args.backend, need_threshold=False, batch_size=args.batch_size, **options)
        training = training_record(path)
        method = (training or {}).get("method", "unknown")
        trainable = (training or {}).get("trainable_parameters", classifier.num_parameters)
        weights = path / "model.safetensors"
        on_cpu = getattr(classifier, "device", None) in (None, torch.device("cpu"))
        cpu_scorer = None if on_cpu else functools.partial(load_classifier, path, "torch", device="cpu")
        record(name, method, classifier, params=classifier.num_parameters, trainable=trainable,
               size_mb=folder_size_mb(path), path=shown_path(path), training=training, rows=train_rows(training),
               weights_sha256=sha256_file(weights) if weights.exists() else None,
               cpu_scorer=cpu_scorer)  # fmt: skip
        del classifier
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    if not args.no_comparisons:
        write_comparisons(args.results_dir, test_labels, test_ids_sha256, args.bootstrap_resamples, args.seed,
                          lab.student_pairs)  # fmt: skip
        report.run(args, lab)
    return scored
