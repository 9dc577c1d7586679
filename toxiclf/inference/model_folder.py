"""A model folder's format in one place, as `save_pretrained` / `from_pretrained` own theirs in transformers: the
files a folder holds, how each is read and checked, and how shipping writes them (the manifest last).

    >>> folder = ModelFolder.load("model")        # verified against its manifest.json, or refused in one line
    >>> folder.threshold("onnx-int8"), folder.recorded_metrics("onnx-int8")["roc_auc"]

| file | what it holds | written by |
|---|---|---|
| config.json, model.safetensors | the network (fp16 weights when shipped) | training, shipping |
| tokenizer.json, tokenizer_config.json | the tokenizer | training, shipping |
| run_config.json | the run that trained it (its window: `--max-seq-length`) | training |
| threshold.json | per serving backend, the threshold chosen on validation | shipping |
| calibration.json | per serving backend, the map from margin to probability | shipping |
| preprocessing.json | the steps run before tokenizing | shipping |
| canaries.json | texts and the scores recorded at shipping (inference.canaries) | shipping |
| metrics.json | per backend, the test metrics run_eval.py measured on these weights | shipping (--refresh-card) |
| onnx/model.int8.onnx | the served int8 graph (onnx/model.onnx and fingerprint.json: a build cache) | shipping |
| manifest.json | sha256 and size of each file above (inference.manifest) | shipping, last |
"""

import json
import os
from pathlib import Path

from ..paths import sha256_file
from . import manifest as manifest_checks

# onnx-fp32 reproduces PyTorch's scores to 1e-6: it shares PyTorch's threshold and calibration.
SAME_SCORES_AS = {"onnx-fp32": "torch"}


class ModelFolder:
    """One model folder. `ModelFolder(path)` reads it as it is (a checkpoint fresh from training, a folder being
    shipped); `ModelFolder.load(path)` first verifies it against its manifest."""

    CONFIG = "config.json"
    WEIGHTS = "model.safetensors"
    RUN_CONFIG = "run_config.json"  # written when a training run finishes
    TOKENIZER = "tokenizer.json"
    TOKENIZER_CONFIG = "tokenizer_config.json"
    SLOW_TOKENIZER = ("special_tokens_map.json", "vocab.txt")  # a tokenizer saved without tokenizer.json
    THRESHOLD = "threshold.json"
    CALIBRATION = "calibration.json"
    PREPROCESSING = "preprocessing.json"  # {"normalise_obfuscation": true, ...}
    # The settings it may hold, in the order the steps run (toxiclf.inference.preprocessing registers each step).
    PREPROCESSING_SETTINGS = ("normalise_obfuscation", "restore_misspelt_words", "segment_joined_words")
    CANARIES = "canaries.json"
    METRICS = "metrics.json"
    CARD = "README.md"
    MANIFEST = "manifest.json"
    ONNX_DIR = "onnx"
    FP32_GRAPH, INT8_GRAPH, ONNX_FINGERPRINT = "model.onnx", "model.int8.onnx", "fingerprint.json"
    # Every file that changes a score or a label, or vouches for one (the recorded metrics): the manifest lists
    # those a folder holds. onnx/model.onnx is a build cache, checked against the weights by its fingerprint.
    LISTED_FILES = (
        CONFIG, WEIGHTS, RUN_CONFIG, TOKENIZER, TOKENIZER_CONFIG, *SLOW_TOKENIZER,
        THRESHOLD, CALIBRATION, PREPROCESSING, CANARIES, METRICS,
        f"{ONNX_DIR}/{INT8_GRAPH}",
    )  # fmt: skip

    def __init__(self, path: str | os.PathLike, manifest: dict | None = None):
        self.path = Path(path)
        self.manifest = manifest  # set by `load` once the files matched it

    @classmethod
    def load(cls, path: str | os.PathLike, required: bool = False) -> "ModelFolder":
        """The folder once every file its manifest lists matches it; ManifestError (one line naming the file) for
        one that differs, or for one without a manifest if `required` (a shipped folder)."""
        folder = cls(path)
        folder.manifest = manifest_checks.verify(folder, required)
        return folder

    def __repr__(self) -> str:
        return f"ModelFolder({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def weights(self) -> Path:
        return self.path / self.WEIGHTS

    def graph(self, name: str) -> Path:
        """The path of an ONNX graph (INT8_GRAPH or FP32_GRAPH) in the folder's onnx/ subfolder."""
        return self.path / self.ONNX_DIR / name

    def _json(self, name: str, kind: str):
        """The file's JSON, None where the folder has no such file; ValueError naming it when it is not JSON."""
        path = self.path / name
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError as error:
            raise ValueError(f"{path} is not a valid {kind} file ({type(error).__name__}: {error})") from None

    # Reading ------------------------------------------------------------------------------------------------------

    @property
    def config(self) -> dict:
        return json.loads((self.path / self.CONFIG).read_text())

    @property
    def run_config(self) -> dict:
        """The training run's record; {} where the folder has none."""
        return self._json(self.RUN_CONFIG, "run record") or {}

    @property
    def trained_max_length(self) -> int | None:
        """--max-seq-length of the run that trained the model, if recorded."""
        return self.run_config.get("args", {}).get("max_seq_length")

    @property
    def tokenizer_settings(self) -> dict:
        return self._json(self.TOKENIZER_CONFIG, "tokenizer settings") or {}

    @property
    def thresholds(self) -> dict | None:
        """threshold.json as stored (thresholds per backend and where they came from); None without one."""
        return self._json(self.THRESHOLD, "threshold")

    def threshold(self, backend: str = "torch") -> float | None:
        """The validation threshold stored for this backend; None where there is none."""
        path = self.path / self.THRESHOLD
        stored = self.thresholds
        if stored is None:
            return None
        try:
            if "thresholds" not in stored:  # the one-threshold format of earlier releases
                return float(stored["threshold"])
            entry = _for_backend(stored["thresholds"], backend)
            threshold = float(entry["threshold"]) if entry else None
            if threshold is not None and not 0 < threshold < 1:  # NaN fails this too
                raise ValueError(f"the {backend} threshold {threshold} is not between 0 and 1")
            return threshold
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a valid threshold file ({type(error).__name__}: {error})") from None

    def missing_threshold(self, backend: str) -> str:
        """Why the folder cannot label texts with this backend: one line naming the file."""
        path = self.path / self.THRESHOLD
        if not path.exists():
            return (f"{path} is missing: labels need the threshold chosen on validation (written when a model is "
                    "shipped); pass threshold=... to label at another")  # fmt: skip
        return f"{path} has no threshold for the {backend} backend; ship the model for it or pass threshold=..."

    def calibration(self, backend: str) -> dict | None:
        """The calibration map of this backend, None where the folder has none; ValueError for one that cannot
        serve (it must be finite and strictly increasing)."""
        path = self.path / self.CALIBRATION
        stored = self._json(self.CALIBRATION, "calibration")
        if stored is None:
            return None
        try:
            calibration = _for_backend(stored["backends"], backend)
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a valid calibration file ({type(error).__name__}: {error})") from None
        problem = calibration_problem(calibration) if calibration else None
        if problem:
            raise ValueError(f"{path} is not a valid calibration file ({backend}: {problem})")
        return calibration

    @property
    def preprocessing(self) -> dict:
        """The text preprocessing the folder asks for ({step name: true}); {} for none."""
        path = self.path / self.PREPROCESSING
        if not path.exists():
            return {}
        try:
            stored = json.loads(path.read_text())
            wrong = sorted(
                key
                for key, value in stored.items()
                if key not in self.PREPROCESSING_SETTINGS or not isinstance(value, bool)
            )
            if wrong:
                raise ValueError(f"unknown or non-boolean settings {wrong}")
            return stored
        except (ValueError, AttributeError) as error:
            raise ValueError(f"{path} is not a valid preprocessing file ({error})") from None

    @property
    def canaries(self) -> dict | None:
        """canaries.json as stored (inference.canaries checks it); None without one."""
        return self._json(self.CANARIES, "canaries")

    def recorded_metrics(self, backend: str) -> dict | None:
        """The test metrics recorded for these very weights served by this backend (ROC-AUC, F1, precision, recall,
        test rows, the results file they came from), None where none were recorded."""
        path = self.path / self.METRICS
        stored = self._json(self.METRICS, "metrics")
        if stored is None:
            return None
        try:
            entry = stored["backends"].get(backend)
            if entry is None:
                return None
            recorded = {key: entry[key] for key in METRIC_KEYS}
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a valid metrics file ({type(error).__name__}: {error})") from None
        # Numbers of other weights are not this model's (a folder retrained in place without shipping).
        if not self.weights.exists() or entry.get("model_sha256") != sha256_file(self.weights):
            return None
        return {**recorded, "backend": backend}

    def listed_sha256(self, name: str) -> str | None:
        """The sha256 the manifest records for `name`; None without a manifest or where it does not list it."""
        manifest = self.manifest or manifest_checks.read_manifest(self)
        return manifest["files"].get(name, {}).get("sha256") if manifest else None

    def watch(self) -> "manifest_checks.ManifestWatch":
        """A cheap re-check of the loaded folder against its manifest (for /healthz)."""
        return manifest_checks.ManifestWatch(self, self.manifest)

    # Writing (shipping) -------------------------------------------------------------------------------------------

    def _write_json(self, name: str, content: dict, indent: int | None = 2) -> Path:
        """Written beside and renamed over the old file: a reader sees the old file or the new one, never half."""
        target = self.path / name
        staged = target.with_name(f".{target.name}.new")
        staged.write_text(json.dumps(content, indent=indent) + "\n")
        os.replace(staged, target)
        return target

    def write_thresholds(self, thresholds: dict) -> Path:
        return self._write_json(self.THRESHOLD, thresholds)

    def write_calibration(self, calibrations: dict) -> Path:
        return self._write_json(self.CALIBRATION, calibrations)

    def write_preprocessing(self, steps: dict) -> Path:
        return self._write_json(self.PREPROCESSING, steps, indent=None)

    def write_canaries(self, canaries: dict) -> Path:
        return self._write_json(self.CANARIES, canaries)

    def write_metrics(self, per_backend: dict[str, dict]) -> Path:
        """Test metrics per backend, each with its METRIC_KEYS and the sha256 of the weights it was measured on."""
        for backend, entry in per_backend.items():
            missing = [key for key in (*METRIC_KEYS, "model_sha256") if key not in entry]
            if missing:
                raise ValueError(f"the {backend} metrics lack {', '.join(missing)}")
        return self._write_json(self.METRICS, {"about": METRICS_ABOUT, "backends": per_backend})

    def write_manifest(self) -> dict:
        """The manifest of the files as they are now; written last, it vouches for every file above."""
        return manifest_checks.write_manifest(self)


METRIC_KEYS = ("roc_auc", "f1", "precision", "recall", "test_rows", "results_file")
METRICS_ABOUT = (
    "test-split metrics that run_eval.py measured on these weights, per serving backend, at the shipped threshold; "
    "written by python scripts/ship_model.py --refresh-card (or --refresh-metrics)"
)


def _for_backend(per_backend: dict, backend: str):
    return per_backend.get(backend) or per_backend.get(SAME_SCORES_AS.get(backend, backend))


def calibration_problem(calibration: dict) -> str | None:
    """Why a stored map cannot serve (it must be a finite, strictly increasing map), or None."""
    import math

    try:
        if calibration["method"] == "temperature":
            values, positive = [calibration["temperature"]], calibration["temperature"]
        elif calibration["method"] == "platt":
            values, positive = [calibration["slope"], calibration["intercept"]], calibration["slope"]
        else:
            return f"unknown method {calibration['method']!r}"
        if not all(math.isfinite(float(v)) for v in values) or not float(positive) > 0:
            return f"{calibration['method']} map {values} is not finite and increasing"
    except (KeyError, TypeError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None
