"""Each preprocessing step weighed on the served model: the functional suite and test ROC-AUC with every step, with
each one left out, with none, and (optionally) as the code of another checkout serves it.

    python -m research.preprocessing_ablation --before-tree /tmp/before   # -> results/preprocessing_ablation.json

The model is the shipped folder as served (ONNX int8, its stored threshold, its calibration); only the reading of the
text changes. Each distinct text a variant produces is scored once, so the variants cost little more than one pass
over the test split. `--before-tree`: a checkout of the code before (e.g. `git archive BASE | tar -x -C DIR`), whose
own preprocessing prepares the same texts in a subprocess; this classifier scores them (the same model files).
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

from toxiclf.evaluation.functional_suite import SUITE_FILE, functional_report, load_suite
from toxiclf.inference.classifier import load_classifier, read_preprocessing
from toxiclf.inference.preprocessing import PREPROCESSING_STEPS, steps_asked
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, sha256_file, shown_path
from toxiclf.schema import LABEL_COLUMN, TEXT_COLUMN

logger = logging.getLogger(__name__)

RESULTS_FILE = "preprocessing_ablation.json"
UNICODE = "read_unicode"  # the classifier's own reading of Unicode, before the folder's steps


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
        code = ("import json, sys; from toxiclf.classifier import read_preprocessing; "
                "from toxiclf.obfuscation import preprocessed; from toxiclf.preprocessing import steps_asked; "
                "from toxiclf.paths import SHIPPED_MODEL_DIR; "
                "steps = steps_asked(read_preprocessing(SHIPPED_MODEL_DIR)); "
                "json.dump(preprocessed(json.load(open(sys.argv[1])), steps), open(sys.argv[2], 'w'))")  # fmt: skip
        subprocess.run([sys.executable, "-c", code, str(source), str(target)], cwd=tree, check=True,
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
        "disguise_goals_met": all(rate >= 0.9 for rate in disguises.values()),
        "disguises_caught": disguises,
        "failed_goals": sorted(k for k, v in report["functionalities"].items() if v.get("meets_goal") is False),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR), help="model folder (default: the shipped one)")
    parser.add_argument("--before-tree", type=Path, help="a checkout of the code before, scored as served there")
    parser.add_argument("--max-test-rows", type=int, help="score the first N test comments only")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / RESULTS_FILE, help="JSON file to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.INFO)
    from toxiclf.data.splits import load_splits

    classifier = load_classifier(args.model, backend="onnx-int8")
    asked = read_preprocessing(args.model)
    test = load_splits()["test"]
    rows = len(test) if args.max_test_rows is None else min(args.max_test_rows, len(test))
    test_texts, test_labels = list(test[TEXT_COLUMN][:rows]), np.asarray(test[LABEL_COLUMN][:rows])
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
    record = {
        "about": "The shipped model as served (ONNX int8, its threshold and calibration) with each preprocessing step "
        "left out; read_unicode is the classifier's Unicode reading (inference.unicode_text) with the characters its "
        "vocabulary reads as [UNK] dropped. disguise_goals_met: every obfuscation_* functionality caught >= 90 %.",
        "command": "python -m research.preprocessing_ablation"
        + (" --before-tree DIR" if args.before_tree else "")
        + (f" --max-test-rows {args.max_test_rows}" if args.max_test_rows else ""),
        "model": shown_path(Path(args.model)),
        "model_sha256": sha256_file(Path(args.model) / "model.safetensors"),
        "backend": classifier.backend,
        "threshold": classifier.threshold,
        "test_rows": rows,
        "suite": {"file": SUITE_FILE.name, "sha256": sha256_file(SUITE_FILE), "cases": len(cases)},
        "variants": results,
    }
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    logger.info("Wrote %s", args.output)


if __name__ == "__main__":
    main()
