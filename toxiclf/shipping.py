"""Shipping, the last stage of a model's life: a trained checkpoint becomes model/, with fp16 weights, a threshold
and a calibration per serving backend, and a model card. `scripts/ship_model.py` is its command line.

    python scripts/ship_model.py --checkpoint outputs/student-odd --results results/student-odd.json
    python scripts/ship_model.py --best              # the 6-layer model with the best validation ROC-AUC (a
                                                     # bias-mitigated one when results/bias.json finds it better)
    python run_eval.py --checkpoints shipped=model --backend onnx-int8 --no-baselines   # -> results/shipped.json
    python scripts/ship_model.py --refresh-card      # the card's test metrics from results/shipped.json
    python scripts/ship_model.py --rethreshold       # thresholds chosen again (after a new int8 recipe)
    python scripts/ship_model.py --best-fast         # the fast tier, model-fast/: the best smaller student as served
                                                     # (then scripts/ship_fast.sh measures it as model/ is measured)

Each serving backend also gets a calibration (`calibration.json`, see toxiclf/calibration.py) fitted on its
validation scores, so that `score` is a calibrated probability; thresholds are chosen on the calibrated scores.
`--results` is what run_eval.py wrote for that checkpoint; it must belong to it (same path, same data and split)
and carry no sanity flag. The new folder is built beside the old one and swapped in only when everything checked
out, size included; the checkpoint itself is never touched. Thresholds are chosen for each backend on the
validation scores of the shipped copy itself (max F1): int8 scores differ from fp32 ones, and one threshold for
both would serve another operating point than the one measured.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

from . import canaries
from .calibration import CALIBRATION_FILE
from .classifier import PREPROCESSING_FILE, SERVING_BACKENDS, THRESHOLD_FILE
from .experiments import MITIGATIONS, SMALL_MODELS, SMALL_PLAN
from .manifest import MANIFEST_FILE, write_manifest
from .model_card import DEFAULT, model_card
from .paths import (
    GPU_RESULTS_DIR,
    REPO_ROOT,
    RESULTS_DIR,
    SHIPPED_MODEL_DIR,
    SHIPPED_MODELS,
    sha256_file,
    shipped_model_at,
    shown_path,
)
from .results_files import SERVED_SUFFIX, measured_on, read_result
from .students_report import FAST_TIER_MAX_LAYERS
from .training import RUN_CONFIG_FILE

MAX_SHIPPED_MB = 64
ALREADY_SHIPPED = 3  # exit status of --best --unless-shipped when the best model is the shipped one
SHIPPED_RESULTS = RESULTS_DIR / "shipped.json"


class ShipError(Exception):
    """A reason not to ship; one line for the user."""


def check_results_belong(result: dict, checkpoint: Path, data_source: dict) -> None:
    """Refuse results that were measured on another checkpoint, backend or split."""
    recorded = result.get("path")
    if not recorded or (REPO_ROOT / recorded).resolve() != checkpoint.resolve():
        raise ShipError(f"the results are for {recorded!r}, not for {checkpoint}")
    if result.get("model_sha256") and not measured_on(result, checkpoint):  # older results name no weights
        raise ShipError(f"the results were measured on other weights than {checkpoint / 'model.safetensors'} now holds")
    if result.get("backend", "torch") != "torch":
        raise ShipError(f"the results were measured with the {result['backend']} backend; ship from PyTorch results")
    measured = result["provenance"]["data"]
    for key in ("dataset", "seed", "split_sizes", "sha256"):
        if measured.get(key) != data_source.get(key):
            raise ShipError(
                f"the results were measured on other data ({key}: {measured.get(key)} vs {data_source.get(key)})"
            )
    if result["metrics"]["flags"]:
        raise ShipError(f"refusing to ship a flagged model: {result['metrics']['flags']}")


def check_paths(checkpoint: Path, output: Path) -> None:
    source, target = checkpoint.resolve(), output.resolve()
    if source == target or source.is_relative_to(target) or target.is_relative_to(source):
        raise ShipError(f"--output {output} overlaps the checkpoint {checkpoint}; ship to another folder")
    if not (checkpoint / "config.json").exists():
        raise ShipError(f"{checkpoint} holds no model (no config.json)")


def validation_thresholds(model_dir: Path, backends, validation) -> tuple[dict, dict]:
    """Per backend, on the validation split scored by the model in `model_dir`: a calibration (see
    toxiclf.calibration), then the max-F1 threshold and ROC-AUC of the calibrated scores. (thresholds, calibrations)
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from .calibration import apply, choose_and_fit, expected_calibration_error, margins_from_probabilities
    from .classifier import load_classifier
    from .data import LABEL_COLUMN, TEXT_COLUMN
    from .metrics import best_f1_threshold

    texts, labels = validation[TEXT_COLUMN], np.array(validation[LABEL_COLUMN])
    chosen, calibrations = {}, {}
    for backend in backends:
        raw = load_classifier(
            model_dir, backend, batch_size=64, calibrated=False, check=False, need_threshold=False
        ).scores(texts, progress=True)
        margins = margins_from_probabilities(raw)
        calibrations[backend] = choose_and_fit(margins, labels)
        scores = apply(calibrations[backend], margins)
        chosen[backend] = {
            "threshold": best_f1_threshold(labels, scores),
            "validation_roc_auc": float(roc_auc_score(labels, scores)),
            "validation_ece_before": expected_calibration_error(labels, raw),
            "validation_ece_after": expected_calibration_error(labels, scores),
        }
        method, threshold = calibrations[backend]["method"], chosen[backend]["threshold"]
        print(f"{backend}: {method} calibration, threshold {threshold:.3f}, "
              f"validation ROC-AUC {chosen[backend]['validation_roc_auc']:.4f}")  # fmt: skip
    thresholds = {"thresholds": chosen, "chosen_on": f"calibrated scores of the validation split ({len(labels):,} "
                  "comments), max F1"}  # fmt: skip
    return thresholds, {"backends": calibrations, "fitted_on": "validation split"}


def fp16_weights(weights_file: Path) -> bytes:
    """A safetensors file's bytes with every floating tensor in fp16: half the size, and the loaders cast back
    to fp32 (the one conversion of shipping, the GPU run's returned files and the device bundle)."""
    from safetensors.torch import load_file, save

    weights = load_file(weights_file)
    return save({name: t.half() if t.is_floating_point() else t for name, t in weights.items()}, {"format": "pt"})


def stage(checkpoint: Path, staging: Path) -> None:
    """fp16 weights, config, tokenizer and training record."""
    from transformers import AutoTokenizer

    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(fp16_weights(checkpoint / "model.safetensors"))
    shutil.copy(checkpoint / "config.json", staging / "config.json")
    AutoTokenizer.from_pretrained(checkpoint).save_pretrained(staging)
    if (checkpoint / RUN_CONFIG_FILE).exists():
        shutil.copy(checkpoint / RUN_CONFIG_FILE, staging / RUN_CONFIG_FILE)


def record_canaries(model_dir: Path, backends=SERVING_BACKENDS) -> dict:
    """Score the canary texts with each serving backend, calibrated, and store them (toxiclf.canaries): every later
    load compares."""
    from .classifier import load_classifier

    scores = {
        b: load_classifier(model_dir, b, check=False, need_threshold=False).scores(canaries.TEXTS) for b in backends
    }
    return canaries.write(model_dir, scores)


def vouch_for(model_dir: Path, backends=SERVING_BACKENDS) -> dict:
    """Write the manifest of a shipped folder as it is (toxiclf.manifest), once every serving backend's self-check
    (its canaries) passes on it: the files it lists are those that scored the canaries at shipping."""
    from .classifier import load_classifier, self_checked

    if not (model_dir / "model.safetensors").exists():
        raise ShipError(f"{model_dir} holds no shipped model")
    for backend in backends:
        try:
            self_checked(load_classifier(model_dir, backend, check=False))
        except ValueError as error:
            raise ShipError(f"{model_dir} fails its self-check with {backend}, no manifest written: {error}") from None
    return write_manifest(model_dir)


def swap_in(staging: Path, output: Path) -> None:
    """Replace `output` by `staging` with renames only, so that a failure leaves one complete folder."""
    retired = output.with_name(f".{output.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if output.exists():
        os.replace(output, retired)
    os.replace(staging, output)
    shutil.rmtree(retired, ignore_errors=True)


def ship(
    checkpoint: Path, results_file: Path, output: Path, backends=SERVING_BACKENDS, preprocessing: dict | None = None
) -> Path:
    """`preprocessing`: the steps the folder asks for before tokenizing (classifier.PREPROCESSING_STEPS)."""

    from .data import data_provenance, load_splits

    check_paths(checkpoint, output)
    result = json.loads(results_file.read_text())
    splits = load_splits(result["provenance"]["data"]["dataset"], result["provenance"]["data"]["seed"])
    check_results_belong(
        result,
        checkpoint,
        data_provenance(result["provenance"]["data"]["dataset"], result["provenance"]["data"]["seed"], splits),
    )
    staging = output.with_name(f".{output.name}.staging")
    stage(checkpoint, staging)
    if preprocessing:  # before the thresholds and calibrations: they are fitted on what the model will see
        (staging / PREPROCESSING_FILE).write_text(json.dumps(preprocessing) + "\n")
    size_mb = sum(f.stat().st_size for f in staging.iterdir() if f.is_file()) / 2**20
    if size_mb > MAX_SHIPPED_MB:
        shutil.rmtree(staging)
        raise ShipError(
            f"{checkpoint} ships as {size_mb:.0f} MiB, over the {MAX_SHIPPED_MB} MiB budget; nothing changed"
        )
    thresholds, calibrations = validation_thresholds(staging, backends, splits["validation"])
    thresholds.update(source=shown_path(checkpoint), source_sha256=sha256_file(checkpoint / "model.safetensors"),
                      selected_by=shown_path(results_file),
                      model_sha256=sha256_file(staging / "model.safetensors"))  # fmt: skip
    (staging / CALIBRATION_FILE).write_text(json.dumps(calibrations, indent=2) + "\n")
    (staging / THRESHOLD_FILE).write_text(json.dumps(thresholds, indent=2) + "\n")
    record_canaries(staging, backends)
    (staging / "README.md").write_text(model_card(staging, None, name=card_name(output)))
    write_manifest(staging)  # last: it vouches for every file above
    swap_in(staging, output)
    print(f"Shipped {checkpoint} to {output} ({size_mb:.1f} MiB)")
    return output


# The 6-layer contenders for shipping, and the bias-mitigated models (toxiclf.experiments): a mitigated model takes
# its base model's place among the contenders when the identity audit says it is better and validation agrees.
MITIGATION_MAX_ROC_AUC_COST = 0.001  # validation ROC-AUC the mitigation may cost
MITIGATION_MAX_RECALL_COST = 0.01  # toxic templated sentences it may miss more (5 of 510)


def best_small_model(results_dirs=(RESULTS_DIR, GPU_RESULTS_DIR), full_data_only: bool = True) -> tuple[Path, Path]:
    """(checkpoint, results file) of the 6-layer model with the best validation ROC-AUC among full-data runs, from
    the CPU run's results and the GPU run's (the same validation split; a model's epochs do not matter here)."""
    candidates = []
    for results_dir in map(Path, results_dirs):
        candidates += contenders(results_dir, full_data_only)
    if not candidates:
        raise ShipError(
            f"no full-data results of {', '.join(SMALL_MODELS)} in {', '.join(map(shown_path, results_dirs))}; "
            "run run_eval.py first"
        )
    score, name, path, result = max(candidates)
    considered = ", ".join(shown_path(c[2]) for c in candidates)
    print(f"Best by validation ROC-AUC: {shown_path(path)} ({score:.4f}) of {considered}")
    return REPO_ROOT / result["path"], path


def best_fast_student(results_dir: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """(checkpoint, PyTorch results file) of the smaller student (toxiclf.experiments.SMALL_PLAN) of at most
    FAST_TIER_MAX_LAYERS layers with the best validation ROC-AUC as served (its NAME-int8 results), among those whose
    checkpoint is still the one scored."""
    candidates = []
    for name in SMALL_PLAN:
        torch_result, served = read_result(results_dir, name), read_result(results_dir, name + SERVED_SUFFIX)
        if torch_result is None or served is None:
            continue
        checkpoint = REPO_ROOT / served["path"]
        if not (checkpoint / "config.json").exists():
            continue
        if json.loads((checkpoint / "config.json").read_text())["num_hidden_layers"] > FAST_TIER_MAX_LAYERS:
            continue
        if measured_on(served, checkpoint) and measured_on(torch_result, checkpoint):
            candidates.append((served["metrics"]["validation_roc_auc"], name, checkpoint, results_dir / f"{name}.json"))
    if not candidates:
        raise ShipError(f"no student of at most {FAST_TIER_MAX_LAYERS} layers scored as served whose checkpoint is "
                        f"here ({', '.join(SMALL_PLAN)})")  # fmt: skip
    score, name, checkpoint, torch_file = max(candidates)
    considered = ", ".join(f"{n} {s:.4f}" for s, n, _, _ in sorted(candidates, reverse=True))
    print(f"Best by validation ROC-AUC as served: {name} ({considered})")
    return checkpoint, torch_file


def contenders(results_dir: Path, full_data_only: bool) -> list[tuple]:
    """(validation ROC-AUC, name, results file, result) of each small model in one results folder."""
    candidates = {}
    for name in (*SMALL_MODELS, *MITIGATIONS):
        path = results_dir / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        if full_data_only and result.get("train_rows") != result["provenance"]["data"]["split_sizes"]["train"]:
            continue  # a subset run: not a candidate for shipping
        candidates[name] = (result["metrics"]["validation_roc_auc"], name, path, result)
    for mitigated, base in MITIGATIONS.items():
        if mitigated in candidates:
            if base in candidates and mitigation_pays(results_dir, candidates[mitigated], candidates[base]):
                candidates[base] = candidates[mitigated]
            del candidates[mitigated]
    return list(candidates.values())


def mitigation_pays(results_dir: Path, mitigated: tuple, base: tuple) -> bool:
    """Whether the mitigated model flags fewer neutral identity sentences than its base, on the whole and for the
    worst term, misses few more toxic ones, and costs at most MITIGATION_MAX_ROC_AUC_COST of validation ROC-AUC."""
    path = results_dir / "bias.json"
    audits = json.loads(path.read_text())["models"] if path.exists() else {}
    (m_roc, m_name, _, m_result), (b_roc, b_name, _, b_result) = mitigated, base
    m_audit, b_audit = audits.get(m_name), audits.get(b_name)
    if not (m_audit and b_audit and m_audit["path"] == m_result["path"] and b_audit["path"] == b_result["path"]):
        print(f"{m_name} is not a contender: {path} has no audit of both it and {b_name}")
        return False
    m_overall, b_overall = m_audit["templates"]["overall"], b_audit["templates"]["overall"]

    def worst(audit):
        return max(term["neutral_false_positive_rate"] for term in audit["templates"]["terms"].values())

    reasons = [
        f"neutral sentences flagged {m_overall['neutral_false_positive_rate']:.1%} against "
        f"{b_overall['neutral_false_positive_rate']:.1%}",
        f"worst term {worst(m_audit):.0%} against {worst(b_audit):.0%}",
        f"toxic sentences caught {m_overall['toxic_recall']:.1%} against {b_overall['toxic_recall']:.1%}",
        f"validation ROC-AUC {m_roc:.4f} against {b_roc:.4f}",
    ]
    pays = (
        m_overall["neutral_false_positive_rate"] < b_overall["neutral_false_positive_rate"]
        and worst(m_audit) <= worst(b_audit)
        and m_overall["toxic_recall"] >= b_overall["toxic_recall"] - MITIGATION_MAX_RECALL_COST
        and m_roc >= b_roc - MITIGATION_MAX_ROC_AUC_COST
    )
    print(f"{m_name} {'replaces' if pays else 'does not replace'} {b_name}: {'; '.join(reasons)}")
    return pays


def already_shipped(checkpoint: Path, output: Path) -> bool:
    """Whether `output` was shipped from `checkpoint` as it is now (same folder, same weights)."""
    path = output / THRESHOLD_FILE
    record = json.loads(path.read_text()) if path.exists() else {}
    weights = checkpoint / "model.safetensors"
    return (
        record.get("source") == shown_path(checkpoint)
        and weights.exists()
        and record.get("source_sha256") == sha256_file(weights)
    )


def rethreshold(output: Path, backends=SERVING_BACKENDS, preprocessing: dict | None = None) -> None:
    """Choose the thresholds of a shipped folder again (e.g. after the int8 recipe changed); weights untouched.
    `preprocessing`: the steps the folder asks for from now on, in place of those it asked for (the thresholds and
    calibrations are fitted on texts preprocessed alike; until they are, the canaries refuse the folder)."""

    from .data import load_splits

    if not (output / "model.safetensors").exists():
        raise ShipError(f"{output} holds no shipped model")
    if preprocessing is not None:
        staged = output / f".{PREPROCESSING_FILE}.new"
        staged.write_text(json.dumps(preprocessing) + "\n")
        os.replace(staged, output / PREPROCESSING_FILE)
    path = output / THRESHOLD_FILE
    previous = json.loads(path.read_text()) if path.exists() else {}
    thresholds, calibrations = validation_thresholds(output, backends, load_splits()["validation"])
    thresholds.update({k: previous[k] for k in ("source", "source_sha256", "selected_by") if k in previous},
                      model_sha256=sha256_file(output / "model.safetensors"))  # fmt: skip
    for name, content in ((CALIBRATION_FILE, calibrations), (THRESHOLD_FILE, thresholds)):
        staged = output / f".{name}.new"
        staged.write_text(json.dumps(content, indent=2) + "\n")
        os.replace(staged, output / name)
    record_canaries(output, backends)  # the calibrated scores changed with the calibration
    (output / "README.md").write_text(model_card(output, None, name=card_name(output)))
    write_manifest(output)


def card_name(output: Path) -> str:
    """The name a shipped folder has in the results files ("shipped-fast" for the fast tier); any other folder is
    shipped as the default model is."""
    shipped = shipped_model_at(output)
    return shipped.results_name if shipped else DEFAULT


def refresh_card(output: Path, results_file: Path) -> None:
    """Rewrite the card with the test metrics run_eval.py measured on the shipped folder itself."""
    result = json.loads(results_file.read_text())
    if not measured_on(result, output):
        raise ShipError(f"{results_file} was measured on other weights than {output}; run run_eval.py on it first")
    (output / "README.md").write_text(model_card(output, result, results_file.parent, card_name(output)))
    print(f"Model card of {output} shows the test metrics of {results_file} ({result.get('backend')} backend)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="trained model folder")
    parser.add_argument("--results", type=Path, help="run_eval.py's JSON for that checkpoint")
    parser.add_argument(
        "--best",
        action="store_true",
        help=f"ship the best of {', '.join(SMALL_MODELS)} by validation ROC-AUC (full-data runs)",
    )
    parser.add_argument(
        "--best-fast",
        action="store_true",
        help="ship the smaller student with the best validation ROC-AUC as served (int8) whose checkpoint is here, as "
        "the fast tier (default --output: model-fast/)",
    )
    parser.add_argument(
        "--unless-shipped",
        action="store_true",
        help=f"with --best: exit with status {ALREADY_SHIPPED} and change nothing if the best is what is shipped",
    )
    parser.add_argument("--output", type=Path, default=SHIPPED_MODEL_DIR, help="where to ship (default: model/)")
    parser.add_argument(
        "--normalise",
        action="store_true",
        help="serve with spaced-out letters and look-alike digits undone first (preprocessing.json)",
    )
    parser.add_argument(
        "--restore-spelling",
        action="store_true",
        help="serve with misspelt words read as the word one dropped or swapped letter away (preprocessing.json; "
        "after --normalise)",
    )
    parser.add_argument(
        "--segment-joined-words",
        action="store_true",
        help="serve with words written without spaces split first (preprocessing.json; after --normalise)",
    )
    parser.add_argument(
        "--record-canaries",
        action="store_true",
        help="only record the shipped folder's canaries (toxiclf.canaries) with its weights as they are",
    )
    parser.add_argument(
        "--write-manifest",
        action="store_true",
        help="only write the shipped folder's manifest.json (toxiclf.manifest) for its files as they are, once its "
        "canaries pass with every serving backend",
    )
    parser.add_argument(
        "--rethreshold",
        action="store_true",
        help="only choose the shipped folder's thresholds again, on the validation split; with --normalise, "
        "--restore-spelling or --segment-joined-words, those steps replace the ones the folder asks for",
    )
    parser.add_argument(
        "--refresh-card",
        nargs="?",
        const=SHIPPED_RESULTS,
        type=Path,
        metavar="RESULTS",
        help="only rewrite the card from the shipped folder's results (default: results/shipped.json)",
    )
    args = parser.parse_args(argv)
    asked = {"normalise_obfuscation": args.normalise, "restore_misspelt_words": args.restore_spelling,
             "segment_joined_words": args.segment_joined_words}  # fmt: skip
    steps = {name: True for name, on in asked.items() if on}
    try:
        if args.record_canaries:
            stored = record_canaries(args.output)
            write_manifest(args.output)
            print(f"Recorded {len(stored['texts'])} canaries for {', '.join(stored['scores'])} in {args.output}")
        elif args.write_manifest:
            manifest = vouch_for(args.output)
            print(f"Wrote {args.output / MANIFEST_FILE}: {len(manifest['files'])} files")
        elif args.rethreshold:
            rethreshold(args.output, preprocessing=steps or None)
        elif args.refresh_card:
            refresh_card(args.output, args.refresh_card)
        elif args.best_fast:
            checkpoint, results_file = best_fast_student()
            fast = SHIPPED_MODELS["fast"].folder
            ship(checkpoint, results_file, fast if args.output == SHIPPED_MODEL_DIR else args.output)
        elif args.best:
            checkpoint, results_file = best_small_model()
            if args.unless_shipped and already_shipped(checkpoint, args.output):
                print(f"{checkpoint} is already shipped in {args.output}; nothing changed")
                raise SystemExit(ALREADY_SHIPPED)
            ship(checkpoint, results_file, args.output)
        elif args.checkpoint and args.results:
            ship(args.checkpoint, args.results, args.output, preprocessing=steps)
        else:
            parser.error("give --checkpoint and --results, --best, --best-fast or --refresh-card")
    except (ShipError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
