"""`run_eval.py audit`: the identity-term bias audit (toxiclf.evaluation.identity_audit) of each checkpoint, on the
templates and the real test split -> results/bias.json, bias.png.

    python run_eval.py audit --backend onnx-int8 --checkpoints shipped=model

Each model is audited at its own operating point for this backend: the stored threshold of a shipped model, else the
one that maximises F1 on the validation split, as shipping would choose it; never 0.5 by default, so that a
mitigated model and the shipped one are compared as each would be served. A model audited before with the same
inputs (weights, threshold and calibration files, backend, sentences, test and validation rows) keeps its earlier
audit: every shipping round audits all trained models, and each costs minutes on a CPU. The file keeps the earlier
audits of models not named this time while they still describe the files at their path (e.g. the model a shipped
one mitigates), and drops those whose files changed or went.
"""

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from toxiclf.data.splits import ID_COLUMN, LABEL_COLUMN, TEXT_COLUMN
from toxiclf.evaluation.baselines import TfidfBaseline
from toxiclf.evaluation.commands.common import baseline_rows, check_models, eval_splits
from toxiclf.evaluation.comparisons import ids_checksum
from toxiclf.evaluation.metrics import best_f1_threshold
from toxiclf.inference.calibration import CALIBRATION_FILE
from toxiclf.inference.classifier import PREPROCESSING_FILE, THRESHOLD_FILE, load_classifier, read_threshold
from toxiclf.paths import REPO_ROOT, sha256_file, shown_path

logger = logging.getLogger(__name__)

SHARED = ("data", "results", "models", "baselines")
# What an audit reports: bump it when the report gains a figure, so that earlier audits are made again.
AUDIT_VERSION = "2: bias figures with bootstrap intervals"


def arguments(lab) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)  # only the shared flags


def check(parser, args, lab) -> None:
    check_models(parser, args, lab.default_checkpoints)


def run(args, lab) -> dict:
    from toxiclf.evaluation.identity_audit import audit_sentences

    splits, test, validation = eval_splits(args)
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
    if not args.no_baselines:  # the check on real text that no template can game, for the model without a network
        audits.update(tfidf_audit(args, splits["train"], sentences, test, validation, inputs, earlier))
    kept = {name: entry for name, entry in earlier.items() if name not in audits and still_current(entry, inputs)}
    checkpoints = " ".join(f"{k}={shown_path(v)}" for k, v in args.checkpoints.items())
    result = {"command": f"python run_eval.py audit --backend {args.backend} --checkpoints {checkpoints}",
              "terms": int(sentences["term"].nunique()), "sentences": len(sentences),
              "models": {**kept, **audits}}  # fmt: skip
    args.results_dir.mkdir(parents=True, exist_ok=True)
    staged = output.with_name(f".{output.name}.new")  # a write cut half-way leaves the earlier file whole
    staged.write_text(json.dumps(result, indent=2) + "\n")
    staged.replace(output)
    lab.plot_bias(result["models"], args.results_dir)
    return result


def still_current(entry: dict, inputs: str) -> bool:
    """Whether an earlier audit still describes the files at its path, for the same audit rows. A baseline's (no
    path: fitted here, no files) stays: `--no-baselines` keeps the last TF-IDF audit in the file."""
    if entry.get("path", "") is None:
        return True
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


def audit_key(path: Path, backend: str, inputs: str) -> str:
    """What an audit's numbers depend on: the files that make the scores and the threshold, and the rows."""
    parts = [backend, inputs, AUDIT_VERSION]
    for file in ("model.safetensors", THRESHOLD_FILE, CALIBRATION_FILE, PREPROCESSING_FILE):
        parts.append(sha256_file(path / file) if (path / file).exists() else "-")
    return ids_checksum(parts)


def audit_model(args, path: Path, sentences, test, validation) -> dict:
    classifier = load_classifier(path, args.backend, need_threshold=False, batch_size=args.batch_size)
    threshold_source = THRESHOLD_FILE
    if read_threshold(path, classifier.backend) is None:
        classifier.threshold, threshold_source = validation_threshold(classifier, validation)
    audit = audit_scorer(classifier, classifier.threshold, sentences, test)
    calibrated = classifier.calibration is not None
    return {"path": shown_path(path), "backend": classifier.backend, "threshold": classifier.threshold,
            "threshold_source": threshold_source, "calibrated": calibrated, **audit}  # fmt: skip


def tfidf_audit(args, train, sentences, test, validation, inputs: str, earlier: dict) -> dict:
    """TF-IDF + logistic regression (toxiclf.evaluation.baselines), fitted on the training comments as `score` fits
    it, audited at its validation max-F1 threshold; kept from the last run when the rows and the fit are the same."""
    train = baseline_rows(args, train)
    tfidf = TfidfBaseline(seed=args.seed)
    key = ids_checksum(["tfidf", inputs, AUDIT_VERSION, str(args.seed), *train[ID_COLUMN]])
    reused = earlier.get(tfidf.name)
    if reused and reused.get("audit_key") == key:
        logger.info("%s: audited before with the same inputs; kept", tfidf.name)
        return {tfidf.name: reused}
    tfidf.fit(train[TEXT_COLUMN], np.array(train[LABEL_COLUMN]))
    threshold, source = validation_threshold(tfidf, validation)
    audit = audit_scorer(tfidf, threshold, sentences, test)
    return {tfidf.name: {"path": None, "backend": "scikit-learn", "train_rows": len(train), "threshold": threshold,
                         "threshold_source": source, "calibrated": False, **audit, "audit_key": key}}  # fmt: skip


def validation_threshold(scorer, validation) -> tuple[float, str]:
    """The threshold of best F1 on the validation split, as shipping would choose it, and where it came from."""
    scores = scorer.scores(validation[TEXT_COLUMN], progress=True)
    threshold = best_f1_threshold(np.array(validation[LABEL_COLUMN]), scores)
    return threshold, f"validation split, max F1 ({len(validation)} comments)"


def audit_scorer(scorer, threshold: float, sentences, test) -> dict:
    """The templated sentences at `threshold`, and the real test comments' subgroup figures (threshold-free)."""
    from toxiclf.evaluation.identity_audit import real_split_audit, template_audit, worst_terms

    templated = template_audit(sentences, scorer.scores(sentences["sentence"].tolist()), threshold)
    test_texts = test[TEXT_COLUMN]
    real = real_split_audit(test_texts, np.array(test[LABEL_COLUMN]), scorer.scores(test_texts, progress=True),
                            sorted(sentences["term"].unique()))  # fmt: skip
    return {
        "templates": templated,
        "worst_terms_by_neutral_false_positive_rate": worst_terms(templated["terms"]),
        "real_test_split": {"rows": len(test_texts), **real},
    }
