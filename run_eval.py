"""Score every trained model and the baselines on the held-out test split; write results/.

    python run_eval.py                                   # all checkpoints found under outputs/ (and model/)
    python run_eval.py --max-eval-samples 500            # quick, on CPU
    python run_eval.py --checkpoints odd=outputs/student-odd --no-baselines --update-readme
    python run_eval.py --bench --teacher outputs/teacher --student model   # backends: latency, speed, ROC-AUC

This is the only code that reads the test split. Thresholds are chosen on the validation split.
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
from transformers import set_seed

from research.experiments import STUDENT_PAIRS, default_checkpoints
from research.report import replace_doc_section, update_docs, write_report
from toxiclf.data.splits import (
    DEFAULT_SEED,
    EMBEDDED,
    ID_COLUMN,
    LABEL_COLUMN,
    TEXT_COLUMN,
    DataError,
    data_provenance,
    load_splits,
)
from toxiclf.evaluation.baselines import MajorityBaseline, TfidfBaseline
from toxiclf.evaluation.bench import bench_markdown, run_benchmark
from toxiclf.evaluation.comparisons import ids_checksum, save_scores, write_comparisons
from toxiclf.evaluation.metrics import best_f1_threshold
from toxiclf.evaluation.scores import BOOTSTRAP_RESAMPLES, evaluate_scores, folder_size_mb, measure_cost
from toxiclf.inference.calibration import CALIBRATION_FILE, invert, reliability
from toxiclf.inference.classifier import BACKENDS, PREPROCESSING_FILE, THRESHOLD_FILE, load_classifier, read_threshold
from toxiclf.paths import (
    FAST_MODEL_DIR,
    OUTPUTS_DIR,
    REPO_ROOT,
    RESULTS_DIR,
    SHIPPED_MODEL_DIR,
    sha256_file,
    shown_path,
)
from toxiclf.provenance import device_info, git_commit, library_versions
from toxiclf.training.common import RUN_CONFIG_FILE

logger = logging.getLogger(__name__)

# What run_eval.py looks for when --checkpoints is not given (research.experiments); missing ones are skipped.
DEFAULT_CHECKPOINTS = {**default_checkpoints(OUTPUTS_DIR), "shipped": SHIPPED_MODEL_DIR}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", metavar="NAME=PATH", help="models to score (default: found ones)")
    parser.add_argument("--dataset", default=EMBEDDED, help="'embedded', a hub id or a local folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed (must match training)")
    parser.add_argument("--max-eval-samples", type=int, help="score the first N test and validation rows only")
    parser.add_argument("--batch-size", type=int, default=64, help="scoring batch size")
    parser.add_argument("--device", help="cpu or cuda (default: cuda if available; torch backend only)")
    parser.add_argument("--backend", choices=BACKENDS[1:], default="torch", help="inference backend for the models")
    parser.add_argument(
        "--bench",
        action="store_true",
        help="instead: benchmark PyTorch / ONNX fp32 / ONNX int8 -> results/inference_bench.json",
    )
    parser.add_argument("--teacher", type=Path, default=DEFAULT_CHECKPOINTS["teacher"], help="--bench: the teacher")
    parser.add_argument(
        "--no-teacher",
        action="store_true",
        help="--bench: no teacher row (no fine-tuned teacher here); ratios are then to the student in PyTorch fp32",
    )
    parser.add_argument("--student", type=Path, default=SHIPPED_MODEL_DIR, help="--bench: the student")
    parser.add_argument(
        "--fast-tier",
        type=Path,
        help="--bench: the fast tier, timed as served (default: the shipped one, model-fast/, where it is here)",
    )
    parser.add_argument("--no-fast-tier", action="store_true", help="--bench: no fast-tier row")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="--bench: CPU threads")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON, table and plots go")
    parser.add_argument("--no-baselines", action="store_true", help="skip majority and TF-IDF baselines")
    parser.add_argument("--baselines-only", action="store_true", help="score the baselines and no checkpoint")
    parser.add_argument(
        "--bias-audit",
        action="store_true",
        help="instead: the identity-term audit of --checkpoints -> results/bias.json, bias.png",
    )
    parser.add_argument(
        "--functional",
        action="store_true",
        help="instead: the functional suite's pass rates of --checkpoints (and TF-IDF unless --no-baselines) -> "
        "results/functional.json, functional.png",
    )
    parser.add_argument(
        "--normalise",
        action="store_true",
        help="--functional: also score the suite normalised (toxiclf.inference.obfuscation)",
    )
    parser.add_argument(
        "--segment-joined-words",
        action="store_true",
        help="--functional: also score the suite normalised and with joined-up words split (+normalise +segment)",
    )
    parser.add_argument(
        "--restore-spelling",
        action="store_true",
        help="--functional: also score the suite normalised and with misspelt words repaired (+normalise +spelling; "
        "with --segment-joined-words, both as well)",
    )
    parser.add_argument("--baseline-max-train-samples", type=int, help="fit TF-IDF on the first N training rows")
    parser.add_argument("--no-cost", action="store_true", help="skip the CPU latency / throughput measurement")
    parser.add_argument("--bootstrap-resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="for the 95 %% CIs")
    parser.add_argument("--update-readme", action="store_true", help="regenerate the README and docs/ tables")
    parser.add_argument(
        "--readme-section",
        default="results",
        help="with --update-readme: the section to regenerate (results-gpu for --results-dir results/gpu)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="score nothing: regenerate summary.md, the plots (and README) from results/*.json",
    )
    parser.add_argument(
        "--no-comparisons",
        action="store_true",
        help="write each model's results and test scores only, not the paired comparisons and summary.md (several "
        "scorings at once into one folder; then --compare-only)",
    )
    parser.add_argument(
        "--compare-only",
        action="store_true",
        help="score nothing: the paired comparisons of the test scores in --results-dir, then summary.md",
    )
    args = parser.parse_args(argv)
    if args.max_eval_samples is not None and args.max_eval_samples < 10:
        parser.error("--max-eval-samples must be at least 10")
    if args.bootstrap_resamples < 1000:
        parser.error("--bootstrap-resamples must be at least 1000 for stable 95 % intervals")
    if args.report_only or args.compare_only:
        return args
    if args.bench:
        if args.no_teacher:
            args.teacher = None
        if args.no_fast_tier:
            args.fast_tier = None
        elif args.fast_tier is None and (FAST_MODEL_DIR / "config.json").exists():
            args.fast_tier = FAST_MODEL_DIR
        for path in (args.teacher, args.student, args.fast_tier):
            if path is not None and not (path / "config.json").exists():
                parser.error(f"--bench: {path} holds no model (no config.json)")
        return args
    if args.baselines_only and (args.checkpoints or args.no_baselines):
        parser.error("--baselines-only takes neither --checkpoints nor --no-baselines")
    args.checkpoints = {} if args.baselines_only else parse_checkpoints(parser, args.checkpoints)
    return args


def parse_checkpoints(parser, specs) -> dict[str, Path]:
    if not specs:
        return {name: path for name, path in DEFAULT_CHECKPOINTS.items() if (path / "config.json").exists()}
    checkpoints = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--checkpoints takes NAME=PATH, got {spec!r}")
        if not (Path(path) / "config.json").exists():
            parser.error(f"{path} holds no model (no config.json)")
        checkpoints[name] = Path(path)
    return checkpoints


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


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logger.info("Arguments: %s", json.dumps({k: str(v) for k, v in vars(args).items()}))
    set_seed(args.seed)
    if args.report_only:
        return report(args)
    if not args.bench and not args.checkpoints and args.no_baselines:
        raise SystemExit("error: nothing to evaluate: no checkpoint found under outputs/ and --no-baselines given")

    try:
        splits = load_splits(args.dataset, args.seed)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    source = data_provenance(args.dataset, args.seed, splits)
    test, validation = splits["test"], splits["validation"]
    if args.max_eval_samples:
        test = test.select(range(min(args.max_eval_samples, len(test))))
        validation = validation.select(range(min(args.max_eval_samples, len(validation))))
    test_texts, test_labels = test[TEXT_COLUMN], np.array(test[LABEL_COLUMN])
    test_ids_sha256 = ids_checksum(test[ID_COLUMN])
    val_texts, val_labels = validation[TEXT_COLUMN], np.array(validation[LABEL_COLUMN])
    if args.compare_only:
        write_comparisons(
            args.results_dir, test_labels, test_ids_sha256, args.bootstrap_resamples, args.seed, STUDENT_PAIRS
        )
        return report(args)
    logger.info("Scoring on %d test and %d validation comments", len(test_texts), len(val_texts))
    if args.bench:
        return bench(args, test_texts, test_labels, splits["train"])
    if args.bias_audit:
        return bias_audit(args, test, validation)
    if args.functional:
        return functional(args, splits["train"], validation)

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
        train = splits["train"]
        if args.baseline_max_train_samples:
            train = train.select(range(min(args.baseline_max_train_samples, len(train))))
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
        display_path = shown_path(path)
        weights = path / "model.safetensors"
        on_cpu = getattr(classifier, "device", None) in (None, torch.device("cpu"))
        cpu_scorer = None if on_cpu else functools.partial(load_classifier, path, "torch", device="cpu")
        record(name, method, classifier, params=classifier.num_parameters, trainable=trainable,
               size_mb=folder_size_mb(path), path=display_path, training=training, rows=train_rows(training),
               weights_sha256=sha256_file(weights) if weights.exists() else None,
               cpu_scorer=cpu_scorer)  # fmt: skip
        del classifier
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    if not args.no_comparisons:
        write_comparisons(
            args.results_dir, test_labels, test_ids_sha256, args.bootstrap_resamples, args.seed, STUDENT_PAIRS
        )
        report(args)
    return scored


def report(args):
    summary = write_report(args.results_dir)
    logger.info("Wrote %s and plots to %s", summary.name, args.results_dir)
    if args.update_readme:
        changed = update_docs(args.results_dir, args.readme_section)
        if changed:
            logger.info("Updated the %s section of %s", args.readme_section, ", ".join(p.name for p in changed))
        else:
            logger.warning("No page has %s markers; nothing updated", args.readme_section)
    print(summary.read_text())


def bias_audit(args, test, validation) -> dict:
    """The identity audit (toxiclf.evaluation.identity_audit) of each checkpoint, on the templates and the real test
    split.

    Each model is audited at its own operating point for this backend: the stored threshold of a shipped model,
    else the one that maximises F1 on the validation split, as shipping would choose it; never 0.5 by default,
    so that a mitigated model and the shipped one are compared as each would be served. A model audited before
    with the same inputs (weights, threshold and calibration files, backend, sentences, test and validation rows)
    keeps its earlier audit: every shipping round audits all trained models, and each costs minutes on a CPU.
    The file keeps the earlier audits of models not named this time while they still describe the files at their
    path (e.g. the model a shipped one mitigates), and drops those whose files changed or went.
    """
    from research.report import plot_bias
    from toxiclf.evaluation.identity_audit import audit_sentences

    sentences = audit_sentences()
    inputs = ids_checksum([*sentences["sentence"], *sentences["label"], *test[ID_COLUMN], "|", *validation[ID_COLUMN]])
    output = args.results_dir / "bias.json"
    earlier = earlier_audits(output)
    audits = {}
    for name, path in args.checkpoints.items():
        key = audit_key(path, args.backend, inputs)
        reused = next((entry for entry in earlier.values() if entry.get("audit_key") == key), None)
        if reused:
            logger.info("%s: audited before with the same inputs (%s); kept", name, reused["path"])
            audits[name] = {**reused, "path": shown_path(path)}
        else:
            audits[name] = {**audit_model(args, path, sentences, test, validation), "audit_key": key}
        overall = audits[name]["templates"]["overall"]
        logger.info("%s: neutral false-positive rate %.3f, toxic recall %.3f; worst: %s", name,
                    overall["neutral_false_positive_rate"], overall["toxic_recall"],
                    audits[name]["worst_terms_by_neutral_false_positive_rate"])  # fmt: skip
    kept = {name: entry for name, entry in earlier.items() if name not in audits and still_current(entry, inputs)}
    checkpoints = " ".join(f"{k}={shown_path(v)}" for k, v in args.checkpoints.items())
    result = {"command": f"python run_eval.py --bias-audit --backend {args.backend} --checkpoints {checkpoints}",
              "terms": int(sentences["term"].nunique()), "sentences": len(sentences),
              "models": {**kept, **audits}}  # fmt: skip
    args.results_dir.mkdir(parents=True, exist_ok=True)
    staged = output.with_name(f".{output.name}.new")  # a write cut half-way leaves the earlier file whole
    staged.write_text(json.dumps(result, indent=2) + "\n")
    staged.replace(output)
    plot_bias(result["models"], args.results_dir)
    return result


def functional(args, train, validation) -> dict:
    """The functional suite (toxiclf.evaluation.functional_suite) for each checkpoint at its served threshold, and
    TF-IDF."""
    from toxiclf.evaluation import functional_eval

    scorers = {}
    for name, path in args.checkpoints.items():
        classifier = load_classifier(path, args.backend, need_threshold=False, batch_size=args.batch_size)
        weights = path / "model.safetensors"
        scorers[name] = (classifier, read_threshold(path, classifier.backend),
                         {"path": shown_path(path), "backend": classifier.backend,
                          "model_sha256": sha256_file(weights) if weights.exists() else None})  # fmt: skip
    if not args.no_baselines:
        if args.baseline_max_train_samples:
            train = train.select(range(min(args.baseline_max_train_samples, len(train))))
        tfidf = TfidfBaseline(seed=args.seed).fit(train[TEXT_COLUMN], np.array(train[LABEL_COLUMN]))
        scorers[tfidf.name] = (tfidf, None, {"path": None, "backend": "scikit-learn", "train_rows": len(train)})
    result = functional_eval.evaluate(scorers, validation[TEXT_COLUMN], validation[LABEL_COLUMN], args.results_dir,
                                      normalise=args.normalise, segment=args.segment_joined_words,
                                      spelling=args.restore_spelling)  # fmt: skip
    table = functional_eval.markdown_table(result["models"], functional_eval.table_models(result["models"]))
    if args.update_readme and replace_doc_section("functional", table + "\n"):
        logger.info("Updated the functional-suite table (docs/robustness.md)")
    print(table)
    return result


def still_current(entry: dict, inputs: str) -> bool:
    """Whether an earlier audit still describes the files at its path, for the same audit rows."""
    path = REPO_ROOT / entry.get("path", "")  # an absolute path stays itself
    backend = entry.get("backend")
    return bool(backend) and path.is_dir() and entry.get("audit_key") == audit_key(path, backend, inputs)


def earlier_audits(output: Path) -> dict:
    """The audits of the last run, to reuse; none when the file is missing or unreadable (e.g. a cut write)."""
    try:
        return json.loads(output.read_text()).get("models", {}) if output.exists() else {}
    except (ValueError, AttributeError):
        logger.warning("%s is unreadable; every model is audited again", output)
        return {}


# What an audit reports: bump it when the report gains a figure, so that earlier audits are made again.
AUDIT_VERSION = "2: bias figures with bootstrap intervals"


def audit_key(path: Path, backend: str, inputs: str) -> str:
    """What an audit's numbers depend on: the files that make the scores and the threshold, and the rows."""
    parts = [backend, inputs, AUDIT_VERSION]
    for file in ("model.safetensors", THRESHOLD_FILE, CALIBRATION_FILE, PREPROCESSING_FILE):
        parts.append(sha256_file(path / file) if (path / file).exists() else "-")
    return ids_checksum(parts)


def audit_model(args, path: Path, sentences, test, validation) -> dict:
    from toxiclf.evaluation.identity_audit import real_split_audit, template_audit, worst_terms

    classifier = load_classifier(path, args.backend, need_threshold=False, batch_size=args.batch_size)
    threshold_source = THRESHOLD_FILE
    if read_threshold(path, classifier.backend) is None:
        val_scores = classifier.scores(validation[TEXT_COLUMN], progress=True)
        classifier.threshold = best_f1_threshold(np.array(validation[LABEL_COLUMN]), val_scores)
        threshold_source = f"validation split, max F1 ({len(validation)} comments)"
    templated = template_audit(sentences, classifier.scores(sentences["sentence"].tolist()), classifier.threshold)
    test_texts = test[TEXT_COLUMN]
    real = real_split_audit(test_texts, np.array(test[LABEL_COLUMN]), classifier.scores(test_texts, progress=True),
                            sorted(sentences["term"].unique()))  # fmt: skip
    return {
        "path": shown_path(path), "backend": classifier.backend, "threshold": classifier.threshold,
        "threshold_source": threshold_source, "calibrated": classifier.calibration is not None,
        "templates": templated,
        "worst_terms_by_neutral_false_positive_rate": worst_terms(templated["terms"]),
        "real_test_split": {"rows": len(test_texts), **real},
    }  # fmt: skip


TFIDF_BENCH_ROWS = 20_000


def bench(args, texts, labels, train) -> dict:
    # TF-IDF for its speed: fitted on the first TFIDF_BENCH_ROWS training comments (all of them take minutes to fit;
    # its full-data quality is in results/tfidf-logreg.json)
    subset = train.select(range(min(TFIDF_BENCH_ROWS, len(train))))
    tfidf = TfidfBaseline().fit(subset[TEXT_COLUMN], subset[LABEL_COLUMN])
    checkpoints = {"teacher": args.teacher, "student": args.student, "fast": args.fast_tier}
    checkpoints = {which: path for which, path in checkpoints.items() if path is not None}
    result = run_benchmark(checkpoints, texts, labels, args.threads, tfidf=tfidf)
    given = {"teacher": args.teacher, "student": args.student, "fast-tier": args.fast_tier,
             "max-eval-samples": args.max_eval_samples, "threads": args.threads}  # fmt: skip
    flags = [f"--{flag} {shown_path(v) if isinstance(v, Path) else v}" for flag, v in given.items() if v is not None]
    flags += [f"--no-{flag}" for flag in ("teacher", "fast-tier") if given[flag] is None]
    result["command"] = "python run_eval.py --bench " + " ".join(flags)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "inference_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.update_readme and replace_doc_section("bench", bench_markdown(result)):
        logger.info("Updated the benchmark section (docs/inference.md)")
    print(bench_markdown(result))
    return result


if __name__ == "__main__":
    main()
