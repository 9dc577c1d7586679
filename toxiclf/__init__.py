"""Toxic-comment classification made small: embedded data and teacher, layer-copy students, metrics."""

from .data import ID2LABEL, LABELS, load_splits, tokenize_splits
from .losses import masked_cosine_loss, soft_target_kl
from .models import TEACHER_LAYERS, build_student, load_classifier, resolve_model

__all__ = [
    "ID2LABEL",
    "LABELS",
    "TEACHER_LAYERS",
    "build_student",
    "load_classifier",
    "load_splits",
    "masked_cosine_loss",
    "resolve_model",
    "soft_target_kl",
    "tokenize_splits",
]
