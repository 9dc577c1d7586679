"""Classifier: load a checkpoint once, score many comments in length-sorted batches."""

import json
import logging
from pathlib import Path

import numpy as np
import torch

from .data import DEFAULT_MAX_LENGTH, LABELS
from .metrics import toxic_probability

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
THRESHOLD_FILE = "threshold.json"  # written next to a served model: the threshold chosen on validation


def read_threshold(model_dir: str | Path) -> float | None:
    path = Path(model_dir) / THRESHOLD_FILE
    if not path.exists():
        return None
    return float(json.loads(path.read_text())["threshold"])


class Classifier:
    """Scores comments with a saved sequence-classification checkpoint (PyTorch backend).

    >>> clf = Classifier("outputs/student-odd")
    >>> clf.predict(["you are an idiot", "thanks for the fix"])  # [{"score": ..., "label": ..., "flagged": ...}]
    """

    backend = "torch"

    def __init__(self, model_dir, *, device=None, threshold=None, max_length=DEFAULT_MAX_LENGTH, batch_size=32):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.model_dir = Path(model_dir)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        # fp32 whatever the stored dtype: the shipped model is stored in fp16, which CPUs run slowly or not at all.
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32)
        self.model.to(self.device).eval()
        self.threshold = threshold if threshold is not None else (read_threshold(model_dir) or DEFAULT_THRESHOLD)
        # Never longer than the model's position table (a longer input would crash the forward pass).
        self.max_length = min(max_length, self.model.config.max_position_embeddings)
        self.batch_size = batch_size

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _logits(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        # bf16 autocast on GPU halves the memory traffic; CPU stays fp32 (bf16 there is slower on most CPUs).
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            return self.model(**batch).logits.float().cpu().numpy()

    def scores(self, texts: list[str], batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """P(toxic) for each text, in input order."""
        batch_size = batch_size or self.batch_size
        # Sorting by length puts similar lengths in one batch, so dynamic padding pads little.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty(len(texts), dtype=np.float64)
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"Scoring {self.model_dir.name}", unit="batch")
        for start in starts:
            index = order[start : start + batch_size]
            out[index] = toxic_probability(self._logits([texts[i] for i in index]))
        return out

    def predict(self, texts: list[str]) -> list[dict]:
        """Score, label and flag at the model's threshold, one dict per text."""
        return [
            {"score": float(s), "label": LABELS[int(s >= self.threshold)], "flagged": bool(s >= self.threshold)}
            for s in self.scores(texts)
        ]


BACKENDS = ("auto", "torch")


def load_classifier_for_serving(model_dir, backend: str = "auto", **kwargs):
    """The classifier a server should use: `auto` picks the fastest backend that loads."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return Classifier(model_dir, **kwargs)
