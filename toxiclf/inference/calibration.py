"""Calibrated scores: P(toxic) that means what it says, fitted on the validation split, stored next to the model.

Two strictly increasing maps of the logit margin m = logit(toxic) − logit(non-toxic) are candidates:

- temperature scaling (Guo et al. 2017): P = sigmoid(m / T), one parameter;
- Platt scaling: P = sigmoid(a·m + b), scikit-learn's LogisticRegression on m, two parameters.

Both keep the order of the scores, so ROC-AUC and PR-AUC do not move; isotonic regression would fit more freely
but maps ranges of scores onto one value, which changes both, so it is not a candidate. The one with the lower
negative log-likelihood in 5-fold cross-validation on the validation split is chosen and refitted on all of it.
`calibration.json` holds one map per serving backend (int8 margins are not fp32 margins).
"""

from pathlib import Path

import numpy as np

from .model_folder import ModelFolder, calibration_problem  # noqa: F401 - calibration_problem: re-exported

CALIBRATION_FILE = ModelFolder.CALIBRATION
FOLDS = 5
ECE_BINS = 15

# Applying a calibration needs numpy alone (the prediction install); fitting one imports scipy and scikit-learn.


def expit(x):
    """The logistic function, stable for large |x| (scipy.special.expit's values); NaN stays NaN, silently as
    there (the load self-check refuses a model that gives it)."""
    with np.errstate(invalid="ignore"):
        return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))


def logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def margins_from_probabilities(probabilities) -> np.ndarray:
    """The logit margin behind a two-class softmax probability (clipped away from 0 and 1)."""
    return logit(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12))


def fit_temperature(margins, labels) -> dict:
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import log_loss

    def nll(log_t):
        return log_loss(labels, expit(margins / np.exp(log_t)), labels=[0, 1])

    best = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return {"method": "temperature", "temperature": float(np.exp(best.x))}


def fit_platt(margins, labels) -> dict:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6).fit(np.asarray(margins).reshape(-1, 1), labels)
    return {"method": "platt", "slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}


FITTERS = {"temperature": fit_temperature, "platt": fit_platt}


def apply(calibration: dict | None, margins) -> np.ndarray:
    """Calibrated P(toxic) for logit margins; the plain softmax probability without a calibration."""
    margins = np.asarray(margins, dtype=np.float64)
    if calibration is None:
        return expit(margins)
    if calibration["method"] == "temperature":
        return expit(margins / calibration["temperature"])
    if calibration["method"] == "platt":
        if calibration["slope"] <= 0:
            raise ValueError("a Platt calibration must increase with the margin (slope > 0)")
        return expit(calibration["slope"] * margins + calibration["intercept"])
    raise ValueError(f"unknown calibration method {calibration['method']!r}")


def choose_and_fit(margins, labels, seed: int = 0) -> dict:
    """The candidate with the lowest cross-validated NLL on these (validation) rows, refitted on all of them."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    margins, labels = np.asarray(margins, dtype=np.float64), np.asarray(labels)
    if np.bincount(labels, minlength=2).min() < FOLDS:  # too few of a class to cross-validate: one parameter
        return {**fit_temperature(margins, labels), "fitted_on_rows": len(labels)}
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    cross_validated = {}
    for name, fit in FITTERS.items():
        losses = []
        for train, held_out in folds.split(margins.reshape(-1, 1), labels):
            fitted = fit(margins[train], labels[train])
            losses.append(log_loss(labels[held_out], apply(fitted, margins[held_out]), labels=[0, 1]))
        cross_validated[name] = float(np.mean(losses))
    uncalibrated = float(log_loss(labels, expit(margins), labels=[0, 1]))
    chosen = min(cross_validated, key=cross_validated.get)
    return {**FITTERS[chosen](margins, labels), "cross_validated_nll": cross_validated,
            "uncalibrated_nll": uncalibrated, "fitted_on_rows": len(labels)}  # fmt: skip


def invert(calibration: dict | None, probabilities) -> np.ndarray:
    """The uncalibrated P(toxic) behind calibrated ones (the maps are strictly increasing, so invertible)."""
    calibrated = margins_from_probabilities(probabilities)
    if calibration is None:
        return expit(calibrated)
    if calibration["method"] == "temperature":
        return expit(calibrated * calibration["temperature"])
    return expit((calibrated - calibration["intercept"]) / calibration["slope"])


def reliability(labels, probabilities, bins: int = ECE_BINS) -> dict:
    """ECE, Brier score and the reliability diagram's points (equal-width bins; empty bins left out)."""
    from sklearn.metrics import brier_score_loss

    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    points = [
        {"bin": b, "mean_score": float(probabilities[index == b].mean()),
         "toxic_share": float(labels[index == b].mean()), "rows": int((index == b).sum())}
        for b in range(bins) if (index == b).any()
    ]  # fmt: skip
    return {
        "ece": expected_calibration_error(labels, probabilities, bins),
        "ece_bins": f"{bins} equal-width bins of P(toxic), row-weighted",
        "brier": float(brier_score_loss(labels, probabilities)),
        "points": points,
    }


def expected_calibration_error(labels, probabilities, bins: int = ECE_BINS) -> float:
    """ECE with `bins` equal-width bins of P(toxic): the row-weighted mean |accuracy − confidence| of the bins."""
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            error += in_bin.mean() * abs(labels[in_bin].mean() - probabilities[in_bin].mean())
    return float(error)


def read_calibration(model_dir: Path, backend: str) -> dict | None:
    """The folder's calibration map of this backend (see ModelFolder.calibration); None where it has none."""
    return ModelFolder(model_dir).calibration(backend)
