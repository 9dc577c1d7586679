"""Toxic-comment classification made small: embedded data and teacher, layer-copy students, metrics, serving.

The public names below are imported on first use, so that `import toxiclf` stays cheap and
`python -m toxiclf.<module>` does not import its own module twice.
"""

import importlib

_EXPORTS = {
    "ID2LABEL": "data",
    "LABELS": "data",
    "load_splits": "data",
    "tokenize_splits": "data",
    "masked_cosine_loss": "losses",
    "soft_target_kl": "losses",
    "TEACHER_LAYERS": "models",
    "build_student": "models",
    "load_model_and_tokenizer": "models",
    "load_classifier": "classifier",
    "load_classifier_for_serving": "classifier",
    "resolve_model": "models",
    "Classifier": "classifier",
    "OnnxClassifier": "classifier",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
