"""Toxic-comment classification made small: embedded data and teacher, layer-copy students, metrics, serving.

The public names below are imported on first use, so that `import toxiclf` stays cheap and
`python -m toxiclf.<module>` does not import its own module twice.
"""

import importlib

_EXPORTS = {
    "ID2LABEL": "data.splits",
    "LABELS": "data.splits",
    "load_splits": "data.splits",
    "tokenize_splits": "data.splits",
    "masked_cosine_loss": "training.losses",
    "soft_target_kl": "training.losses",
    "TEACHER_LAYERS": "training.models",
    "build_student": "training.models",
    "load_model_and_tokenizer": "training.models",
    "load_classifier": "inference.classifier",
    "load_classifier_for_serving": "inference.classifier",
    "resolve_model": "training.models",
    "Classifier": "inference.classifier",
    "OnnxClassifier": "inference.classifier",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
