"""Canaries: texts whose scores were recorded when a model was shipped, scored again at every load.

A model folder whose weights, calibration, threshold or preprocessing were altered after shipping, or a backend
that computes something else on this machine, gives other scores: it refuses to load with one line instead of
serving wrong answers. `canaries.json` holds the texts, the sha256 of the weights they were scored with, and the
calibrated score of each text per backend. A folder without the file gets the finite-score check alone.

    python scripts/ship_model.py --record-canaries      # record them for model/ (shipping does this itself)
"""

import numpy as np

from ..paths import sha256_file
from .calibration import apply
from .model_folder import SAME_SCORES_AS, ModelFolder

CANARIES_FILE = ModelFolder.CANARIES
TEXTS = [
    "thanks for fixing the citation",
    "you are a complete idiot",
    "I disagree with this edit, please discuss it on the talk page first.",
    "shut up, nobody wants your stupid opinion here",
    "Das ist ein guter Artikel über die Geschichte der Stadt.",
    "go back to where you came from",
    "lol",
    "I will find you and make you regret this",
]
# How far a score may move: fp32 math differs between machines by rounding only; ONNX Runtime's int8 kernels take
# other paths on CPUs without VNNI (AVX2 only), whose difference was not measured here, hence the wide margin. A
# changed model moves the scores by far more. Where int8 fails its canaries, serving falls back to PyTorch.
TOLERANCE = {"torch": 1e-3, "onnx-fp32": 1e-3, "onnx-int8": 0.05}


def write(model_dir, scores: dict[str, list[float]]) -> dict:
    """Store the canaries' scores per backend (scored by the caller on TEXTS) with the weights' checksum.
    `model_dir`: a path or a ModelFolder."""
    folder = model_dir if isinstance(model_dir, ModelFolder) else ModelFolder(model_dir)
    canaries = {"texts": TEXTS, "weights_sha256": sha256_file(folder.weights),
                "scores": {b: [float(s) for s in v] for b, v in scores.items()},
                "tolerance": {b: TOLERANCE[b] for b in scores}}  # fmt: skip
    folder.write_canaries(canaries)
    return canaries


_NOT_RECORDED = "no scores for this backend"  # compared with `is`: a marker, not a reason


def check(classifier) -> tuple[bool, str | None]:
    """(whether canaries were compared for this backend, why they fail or None). Not compared: no file, or no entry
    for this backend (onnx-fp32 shares torch's); failing: a broken file, other weights, a score out of tolerance
    or not finite (one line naming the file)."""
    folder = _folder_of(classifier)
    if not folder.file(folder.CANARIES).exists():
        return False, None
    reason = _problem(classifier, folder)
    return reason is not _NOT_RECORDED, None if reason is _NOT_RECORDED else reason


def _folder_of(classifier) -> ModelFolder:
    folder = getattr(classifier, "folder", None)
    return folder if isinstance(folder, ModelFolder) else ModelFolder(classifier.model_dir)


def _problem(classifier, folder: ModelFolder) -> str | None:
    path = folder.file(folder.CANARIES)
    try:
        canaries = folder.canaries
    except ValueError as error:  # not JSON: the folder's reader names the file
        return str(error)
    try:
        texts, recorded = canaries["texts"], canaries["scores"]
        backend = classifier.backend if classifier.backend in recorded else SAME_SCORES_AS.get(classifier.backend)
        if backend not in recorded:
            return _NOT_RECORDED
        expected, tolerance = np.array(recorded[backend], dtype=float), float(canaries["tolerance"][backend])
        weights = sha256_file(folder.weights)
    except (ValueError, KeyError, TypeError) as error:
        return f"{path} is not a valid canaries file ({type(error).__name__}: {error})"
    if weights != canaries.get("weights_sha256"):
        return f"{path} was recorded for other weights than {folder.weights}"
    # Calibrated with the folder's own map, whether or not this classifier was asked to calibrate. One text per
    # call: a served score is a function of its text alone, and a classifier made to batch for speed (the
    # benchmark's batch-dependent int8 variant) would otherwise be judged on its canaries' batch-mates.
    logits = np.concatenate([classifier.logits([text]) for text in texts])
    scores = apply(folder.calibration(classifier.backend), logits[:, 1] - logits[:, 0])
    worst = int(np.nanargmax(np.where(np.isfinite(scores), np.abs(scores - expected), np.inf)))
    if not np.isfinite(scores[worst]) or abs(scores[worst] - expected[worst]) > tolerance:
        return (
            f"{path}: the {classifier.backend} backend scores {texts[worst]!r} {scores[worst]:.4f}, recorded "
            f"{expected[worst]:.4f} (tolerance {tolerance}); the model folder changed since it was shipped"
        )
    return None
