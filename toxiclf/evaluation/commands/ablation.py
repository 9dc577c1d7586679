"""`run_eval.py ablation`: each preprocessing step weighed on one model as served: the functional suite and test
ROC-AUC with every step, with each one left out, with none, and (optionally) as the code of another checkout serves
it -> results/preprocessing_ablation.json.

    python run_eval.py ablation --before-tree /tmp/before          # the shipped model, the whole test split

Only the reading of the text changes: the network, threshold and calibration are the folder's (ONNX int8 by
default, as served). Each distinct text a variant produces is scored once, so the variants cost little more than one
pass over the test split. `--before-tree`: a checkout of the code before (e.g. `git archive BASE | tar -x -C DIR`),
whose own preprocessing prepares the same texts in a subprocess; this classifier scores them (the same model files).
"""

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from toxiclf.data.splits import LABEL_COLUMN, TEXT_COLUMN
from toxiclf.evaluation.commands.common import eval_splits
from toxiclf.evaluation.functional_suite import SUITE_FILE, functional_report, load_suite
from toxiclf.inference.classifier import BACKENDS, load_classifier, read_preprocessing
from toxiclf.inference.preprocessing import PREPROCESSING_STEPS, steps_asked
from toxiclf.paths import SHIPPED_MODEL_DIR, sha256_file, shown_path

logger = logging.getLogger(__name__)

SHARED = ("data", "results")
RESULTS_FILE = "preprocessing_ablation.json"
UNICODE = "read_unicode"  # the classifier's own reading of Unicode, before the folder's steps
# A disguise functionality meets its goal when the model catches this share of it (as the suite's goals say).
DISGUISE_GOAL = 0.9
# The code of another checkout prepares the texts as it served them: this layout first, then the flat one of before
# the package was split by role.
BEFORE_PROGRAM = """
import json, sys
try:  # the flat layout first: an editable install of a newer tree would answer the new names from that tree
    from toxiclf.classifier import read_preprocessing
    from toxiclf.obfuscation import preprocessed
    from toxiclf.preprocessing import steps_asked
except ImportError:
    from toxiclf.inference.classifier import read_preprocessing
    from toxiclf.inference.obfuscation import preprocessed
    from toxiclf.inference.preprocessing import steps_asked
from toxiclf.paths import SHIPPED_MODEL_DIR
steps = steps_asked(read_preprocessing(SHIPPED_MODEL_DIR))
json.dump(preprocessed(json.load(open(sys.argv[1])), steps), open(sys.argv[2], "w"))
"""


def arguments(lab) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="model folder (default: the shipped one)")
    parser.add_argument("--backend", choices=BACKENDS[1:], default="onnx-int8", help="inference backend (as served)")
    parser.add_argument("--before-tree", type=Path, help="a checkout of the code before, scored as served there")
    return parser


def check(parser, args, lab) -> None:
    if not (args.model / "config.json").exists():
        parser.error(f"{args.model} holds no model (no config.json)")
    if args.before_tree is not None and not (args.before_tree / "toxiclf").is_dir():
        parser.error(f"--before-tree: {args.before_tree} holds no toxiclf/ checkout")


def variants(asked: dict) -> dict[str, dict]:
    """name -> {"read_unicode": bool, "steps": [setting, ...]}: as served, each step left out, none."""
    served = [name for name in PREPROCESSING_STEPS if asked.get(name)]
    out = {"served": {UNICODE: True, "steps": served}, f"without {UNICODE}": {UNICODE: False, "steps": served}}
    for left_out in served:
        out[f"without {left_out}"] = {UNICODE: True, "steps": [s for s in served if s != left_out]}
    out["none"] = {UNICODE: False, "steps": []}
    return out


def prepared(classifier, texts: list[str], variant: dict) -> list[str]:
    """The texts as the classifier reads them under `variant`."""
    classifier.read_unicode = variant[UNICODE]
    classifier.preprocessing = steps_asked(dict.fromkeys(variant["steps"], True))
    return classifier.prepared(texts)


def scores_of_prepared(classifier, texts: list[str], known: dict[str, float]) -> np.ndarray:
    """Calibrated scores of texts already prepared, each distinct text scored once across all variants (`known`:
    the scores so far, added to)."""
    classifier.read_unicode, classifier.preprocessing = False, []
    new = sorted(set(texts).difference(known))
    # an empty prepared text (e.g. only emoji) is scored as the empty string it is: the tokenizer reads [CLS] [SEP]
    if new:
        known.update(zip(new, classifier.scores([t if t.strip() else " " for t in new], progress=True), strict=True))
    return np.array([known[t] for t in texts])


def before_prepared(tree: Path, texts: list[str]) -> list[str]:
    """`texts` as the code of another checkout prepares them for its shipped folder's steps (a subprocess with that
    checkout first on the path): scored by this classifier, they give that code's served scores, the network, graph,
    calibration and threshold being the same files."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "texts.json", Path(folder) / "prepared.json"
        source.write_text(json.dumps(texts))
        subprocess.run([sys.executable, "-c", BEFORE_PROGRAM, str(source), str(target)], cwd=tree, check=True,
                       env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})  # fmt: skip
        return json.loads(target.read_text())


def summary(cases, suite_scores, test_labels, test_scores, threshold: float) -> dict:
    report = functional_report(cases, suite_scores, threshold)
    disguises = {k: v["flagged_rate"] for k, v in report["functionalities"].items() if k.startswith("obfuscation_")}
    return {
        "test_roc_auc": float(roc_auc_score(test_labels, test_scores)),
        "suite_toxic_caught": report["toxic_caught"],
        "suite_non_toxic_flagged": report["non_toxic_flagged"],
        "suite_goals_met": f"{report['goals_met']} / {report['goals']}",
        "disguise_goals_met": all(rate >= DISGUISE_GOAL for rate in disguises.values()),
        "disguises_caught": disguises,
        "failed_goals": sorted(k for k, v in report["functionalities"].items() if v.get("meets_goal") is False),
    }


def command_line(args) -> str:
    """The command that makes this file again (the defaults left out)."""
    flags = [f"--model {shown_path(args.model)}" if args.model != SHIPPED_MODEL_DIR else ""]
    flags += [f"--backend {args.backend}" if args.backend != "onnx-int8" else ""]
    flags += ["--before-tree DIR" if args.before_tree else ""]
    flags += [f"--max-eval-samples {args.max_eval_samples}" if args.max_eval_samples else ""]
    return " ".join(["python run_eval.py ablation", *filter(None, flags)])


def run(args, lab) -> dict:
    _, test, _ = eval_splits(args)  # the whole test split unless --max-eval-samples
    classifier = load_classifier(args.model, backend=args.backend)  # labels need its threshold
    asked = read_preprocessing(args.model)
    test_texts, test_labels = list(test[TEXT_COLUMN]), np.asarray(test[LABEL_COLUMN])
    logger.info("Weighing %d variants on %d test comments", len(variants(asked)), len(test_texts))
    cases = load_suite()
    suite_texts = list(cases["text"])
    results, known = {}, {}
    for name, variant in variants(asked).items():
        suite = prepared(classifier, suite_texts, variant)
        tested = prepared(classifier, test_texts, variant)
        scores = scores_of_prepared(classifier, suite + tested, known)
        results[name] = {**variant, **summary(cases, scores[: len(suite)], test_labels, scores[len(suite) :],
                                              classifier.threshold)}  # fmt: skip
        logger.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "disguises_caught"})
    if args.before_tree:
        scores = scores_of_prepared(classifier, before_prepared(args.before_tree, suite_texts + test_texts), known)
        before = summary(cases, scores[: len(suite_texts)], test_labels, scores[len(suite_texts) :],
                         classifier.threshold)  # fmt: skip
        results["before (as served by --before-tree)"] = before
    weights = args.model / "model.safetensors"
    record = {
        "about": f"The model as served ({args.backend}, its threshold and calibration) with each preprocessing step "
        "left out; read_unicode is the classifier's Unicode reading (inference.unicode_text) with the characters its "
        "vocabulary reads as [UNK] dropped. disguise_goals_met: every obfuscation_* functionality caught >= 90 %.",
        "command": command_line(args),
        "model": shown_path(args.model),
        "model_sha256": sha256_file(weights) if weights.exists() else None,
        "backend": classifier.backend,
        "threshold": classifier.threshold,
        "test_rows": len(test_texts),
        "max_eval_samples": args.max_eval_samples,
        "suite": {"file": SUITE_FILE.name, "sha256": sha256_file(SUITE_FILE), "cases": len(cases)},
        "variants": results,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    output = args.results_dir / RESULTS_FILE
    output.write_text(json.dumps(record, indent=2) + "\n")
    logger.info("Wrote %s", output)
    return record
