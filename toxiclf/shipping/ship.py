"""Shipping, the last stage of a model's life: a trained checkpoint becomes model/, with fp16 weights, a threshold
and a calibration per serving backend, and a model card. `scripts/ship_model.py` is its command line.

    python scripts/ship_model.py --checkpoint outputs/student-odd --results results/student-odd.json
    python scripts/ship_model.py --best              # the 6-layer model with the best validation ROC-AUC (a
                                                     # bias-mitigated one when results/bias.json finds it better)
    python run_eval.py score --checkpoints shipped=model --backend onnx-int8 --no-baselines   # -> results/shipped.json
    python scripts/ship_model.py --refresh-card      # the card's test metrics from results/shipped.json, and the
                                                     # folder's metrics.json (what the app shows) from results/
    python scripts/ship_model.py --refresh-metrics --output model-fast   # metrics.json alone
    python scripts/ship_model.py --rethreshold       # thresholds chosen again (after a new int8 recipe)
    python scripts/ship_model.py --best-fast         # the fast tier, model-fast/: the best smaller student as served
                                                     # (then scripts/ship_fast.sh measures it as model/ is measured)

Each serving backend also gets a calibration (`calibration.json`, see toxiclf/inference/calibration.py) fitted on its
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

from ..evaluation.results_files import measured_on
from ..inference import canaries
from ..inference.classifier import SERVING_BACKENDS
from ..inference.manifest import ManifestError
from ..inference.model_folder import ModelFolder
from ..paths import (
    REPO_ROOT,
    RESULTS_DIR,
    SHIPPED_MODEL_DIR,
    SHIPPED_MODELS,
    sha256_file,
    shipped_model_at,
    shown_path,
)
from .folder_metrics import write_measured_metrics
from .model_card import DEFAULT, model_card

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
    if not (checkpoint / ModelFolder.CONFIG).exists():
        raise ShipError(f"{checkpoint} holds no model (no {ModelFolder.CONFIG})")


def validation_thresholds(model_dir: Path, backends, validation) -> tuple[dict, dict]:
    """Per backend, on the validation split scored by the model in `model_dir`: a calibration (see
    toxiclf.inference.calibration), then the max-F1 threshold and ROC-AUC of the calibrated scores. (thresholds,
    calibrations)
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from ..data.splits import LABEL_COLUMN, TEXT_COLUMN
    from ..evaluation.metrics import best_f1_threshold
    from ..inference.calibration import apply, choose_and_fit, expected_calibration_error, margins_from_probabilities
    from ..inference.classifier import load_classifier

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

    source, folder = ModelFolder(checkpoint), ModelFolder(staging)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    folder.weights.write_bytes(fp16_weights(source.weights))
    shutil.copy(source.file(source.CONFIG), folder.file(folder.CONFIG))
    AutoTokenizer.from_pretrained(checkpoint).save_pretrained(staging)
    if source.file(source.RUN_CONFIG).exists():
        shutil.copy(source.file(source.RUN_CONFIG), folder.file(folder.RUN_CONFIG))


def record_canaries(model_dir: Path, backends=SERVING_BACKENDS) -> dict:
    """Score the canary texts with each serving backend, calibrated, and store them (toxiclf.inference.canaries):
    every later
    load compares."""
    from ..inference.classifier import load_classifier

    scores = {
        b: load_classifier(model_dir, b, check=False, need_threshold=False).scores(canaries.TEXTS) for b in backends
    }
    return canaries.write(model_dir, scores)


def vouch_for(model_dir: Path, backends=SERVING_BACKENDS) -> dict:
    """Write the manifest of a shipped folder as it is (inference.manifest), once every serving backend's self-check
    (its canaries) passes on it: the files it lists are those that scored the canaries at shipping."""
    from ..inference.classifier import load_classifier, self_checked

    folder = ModelFolder(model_dir)
    if not folder.weights.exists():
        raise ShipError(f"{model_dir} holds no shipped model")
    for backend in backends:
        try:
            self_checked(load_classifier(model_dir, backend, check=False))
        except ValueError as error:
            raise ShipError(f"{model_dir} fails its self-check with {backend}, no manifest written: {error}") from None
    return folder.write_manifest()


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

    from ..data.splits import data_provenance, load_splits

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
    folder = ModelFolder(staging)
    if preprocessing:  # before the thresholds and calibrations: they are fitted on what the model will see
        folder.write_preprocessing(preprocessing)
    size_mb = sum(f.stat().st_size for f in staging.iterdir() if f.is_file()) / 2**20
    if size_mb > MAX_SHIPPED_MB:
        shutil.rmtree(staging)
        raise ShipError(
            f"{checkpoint} ships as {size_mb:.0f} MiB, over the {MAX_SHIPPED_MB} MiB budget; nothing changed"
        )
    thresholds, calibrations = validation_thresholds(staging, backends, splits["validation"])
    thresholds.update(source=shown_path(checkpoint), source_sha256=sha256_file(ModelFolder(checkpoint).weights),
                      selected_by=shown_path(results_file),
                      model_sha256=sha256_file(folder.weights))  # fmt: skip
    folder.write_calibration(calibrations)
    folder.write_thresholds(thresholds)
    record_canaries(staging, backends)
    # No metrics file yet: these fp16 weights have no test results until run_eval.py scores the shipped folder
    # (then --refresh-card writes them in).
    folder.file(folder.CARD).write_text(model_card(staging, None, name=card_name(output)))
    folder.write_manifest()  # last: it vouches for every file above
    swap_in(staging, output)
    print(f"Shipped {checkpoint} to {output} ({size_mb:.1f} MiB)")
    return output


def already_shipped(checkpoint: Path, output: Path) -> bool:
    """Whether `output` was shipped from `checkpoint` as it is now (same folder, same weights)."""
    record = ModelFolder(output).thresholds or {}
    weights = ModelFolder(checkpoint).weights
    return (
        record.get("source") == shown_path(checkpoint)
        and weights.exists()
        and record.get("source_sha256") == sha256_file(weights)
    )


def rethreshold(output: Path, backends=SERVING_BACKENDS, preprocessing: dict | None = None) -> None:
    """Choose the thresholds of a shipped folder again (e.g. after the int8 recipe changed); weights untouched.
    `preprocessing`: the steps the folder asks for from now on, in place of those it asked for (the thresholds and
    calibrations are fitted on texts preprocessed alike; until they are, the canaries refuse the folder)."""

    from ..data.splits import load_splits

    folder = ModelFolder(output)
    if not folder.weights.exists():
        raise ShipError(f"{output} holds no shipped model")
    if preprocessing is not None:
        folder.write_preprocessing(preprocessing)
    previous = folder.thresholds or {}
    thresholds, calibrations = validation_thresholds(output, backends, load_splits()["validation"])
    thresholds.update({k: previous[k] for k in ("source", "source_sha256", "selected_by") if k in previous},
                      model_sha256=sha256_file(folder.weights))  # fmt: skip
    folder.write_calibration(calibrations)
    folder.write_thresholds(thresholds)
    record_canaries(output, backends)  # the calibrated scores changed with the calibration
    # F1, precision and recall were measured at the old thresholds: they no longer describe the folder.
    folder.file(folder.METRICS).unlink(missing_ok=True)
    folder.file(folder.CARD).write_text(model_card(output, None, name=card_name(output)))
    folder.write_manifest()


def card_name(output: Path) -> str:
    """The name a shipped folder has in the results files ("shipped-fast" for the fast tier); any other folder is
    shipped as the default model is."""
    shipped = shipped_model_at(output)
    return shipped.results_name if shipped else DEFAULT


def refresh_card(output: Path, results_file: Path) -> None:
    """Rewrite the card with the test metrics run_eval.py measured on the shipped folder itself, and the folder's
    metrics file (what the app shows) from the results beside it."""
    result = json.loads(results_file.read_text())
    if not measured_on(result, output):
        raise ShipError(f"{results_file} was measured on other weights than {output}; run run_eval.py on it first")
    folder = ModelFolder(output)
    folder.file(folder.CARD).write_text(model_card(output, result, results_file.parent, card_name(output)))
    print(f"Model card of {output} shows the test metrics of {results_file} ({result.get('backend')} backend)")
    refresh_metrics(output, results_file.parent)


def refresh_metrics(output: Path, results_dir: Path = RESULTS_DIR) -> dict:
    """Write the folder's metrics file (shipping.folder_metrics) from run_eval.py's results of its weights, and its
    manifest again; ShipError where no results belong to them or the folder changed since it was shipped."""
    try:
        written = write_measured_metrics(output, results_dir)
    except ManifestError as error:
        raise ShipError(f"{error}; metrics not written") from None
    if not written:
        raise ShipError(f"no results in {shown_path(results_dir)} were measured on {output}'s weights; run run_eval.py "
                        "on the shipped folder first")  # fmt: skip
    sources = ", ".join(f"{backend} from {entry['results_file']}" for backend, entry in written.items())
    print(f"Wrote {shown_path(ModelFolder(output).file(ModelFolder.METRICS))}: {sources}")
    return written


def main(argv=None, choose_best=None, choose_best_fast=None):
    """The shipping CLI. `choose_best` and `choose_best_fast` return (checkpoint, results file) for --best and
    --best-fast: which experiments are contenders is the lab's knowledge (research.ship_choice), handed in by
    scripts/ship_model.py, so that the installed package imports nothing from the lab."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="trained model folder")
    parser.add_argument("--results", type=Path, help="run_eval.py's JSON for that checkpoint")
    parser.add_argument(
        "--best",
        action="store_true",
        help="ship the best 6-layer contender by validation ROC-AUC (full-data runs; the lab's choice, "
        "scripts/ship_model.py)",
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
        help=f"serve with spaced-out letters and look-alike digits undone first ({ModelFolder.PREPROCESSING})",
    )
    parser.add_argument(
        "--restore-spelling",
        action="store_true",
        help="serve with misspelt words read as the word one dropped or swapped letter away "
        f"({ModelFolder.PREPROCESSING}; after --normalise)",
    )
    parser.add_argument(
        "--segment-joined-words",
        action="store_true",
        help=f"serve with words written without spaces split first ({ModelFolder.PREPROCESSING}; after --normalise)",
    )
    parser.add_argument(
        "--record-canaries",
        action="store_true",
        help="only record the shipped folder's canaries (toxiclf.inference.canaries) with its weights as they are",
    )
    parser.add_argument(
        "--write-manifest",
        action="store_true",
        help=f"only write the shipped folder's {ModelFolder.MANIFEST} (inference.manifest) for its files as they "
        "are, once its canaries pass with every serving backend",
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
        help="only rewrite the card from the shipped folder's results (default: results/shipped.json), and its "
        f"{ModelFolder.METRICS} from the results beside them",
    )
    parser.add_argument(
        "--refresh-metrics",
        nargs="?",
        const=RESULTS_DIR,
        type=Path,
        metavar="RESULTS_DIR",
        help=f"only write the shipped folder's {ModelFolder.METRICS} (the test metrics the app shows) from "
        "run_eval.py's results of its weights (default: results/), and its manifest again",
    )
    args = parser.parse_args(argv)
    asked = {"normalise_obfuscation": args.normalise, "restore_misspelt_words": args.restore_spelling,
             "segment_joined_words": args.segment_joined_words}  # fmt: skip
    steps = {name: True for name, on in asked.items() if on}
    try:
        if args.record_canaries:
            stored = record_canaries(args.output)
            ModelFolder(args.output).write_manifest()
            print(f"Recorded {len(stored['texts'])} canaries for {', '.join(stored['scores'])} in {args.output}")
        elif args.write_manifest:
            manifest = vouch_for(args.output)
            print(f"Wrote {args.output / ModelFolder.MANIFEST}: {len(manifest['files'])} files")
        elif args.rethreshold:
            rethreshold(args.output, preprocessing=steps or None)
        elif args.refresh_card:
            refresh_card(args.output, args.refresh_card)
        elif args.refresh_metrics:
            refresh_metrics(args.output, args.refresh_metrics)
        elif (args.best or args.best_fast) and (choose_best is None or choose_best_fast is None):
            parser.error("--best and --best-fast choose among the lab's experiments: run scripts/ship_model.py")
        elif args.best_fast:
            checkpoint, results_file = choose_best_fast()
            fast = SHIPPED_MODELS["fast"].folder
            ship(checkpoint, results_file, fast if args.output == SHIPPED_MODEL_DIR else args.output)
        elif args.best:
            checkpoint, results_file = choose_best()
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
