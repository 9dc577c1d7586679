"""Classifiers: load a checkpoint once, score many comments in length-sorted, dynamically padded batches.

Two backends share one interface (`scores`, `predict`, `threshold`, `backend`): PyTorch (CPU or GPU) and
ONNX Runtime (CPU, fp32 or int8). `load_classifier_for_serving` picks the fastest one that loads.
"""

import json
import logging
import os
import re
import sys
import threading
from pathlib import Path

import numpy as np

from ..schema import DEFAULT_MAX_LENGTH, LABELS
from .calibration import apply as calibrated_probability
from .model_folder import ModelFolder
from .obfuscation import preprocessed
from .preprocessing import steps_asked
from .text_checks import encodable_problem, text_problem
from .unicode_text import read_unicode

logger = logging.getLogger(__name__)

# The folder's file names, as toxiclf.inference.model_folder names them (kept here for the modules that import them).
THRESHOLD_FILE, PREPROCESSING_FILE = ModelFolder.THRESHOLD, ModelFolder.PREPROCESSING
BACKENDS = ("auto", "torch", "onnx-int8", "onnx-fp32")
SERVING_BACKENDS = ("torch", "onnx-int8")  # the ones a shipped model gets a threshold for
# With a progress bar, texts scored by side-by-side passes go in chunks of this many (one tick each).
SIDE_BY_SIDE_PROGRESS_STEP = 1024
# A text is cut after this many of its words per token of the model's window, before the steps that cost Python
# time per character: a whitespace-separated run of two or more characters the vocabulary reads is at least one
# token after every step (only single letters are joined across spaces, "i d i o t"), so the words past this bound
# lie beyond the window; 2 leaves a margin. A megabyte of comment then costs what its first words cost.
WORDS_PER_TOKEN = 2
_WORD_OF_TWO = re.compile(r"\S{2,}")
WARM_UP_TEXT = "a warm-up: іdіоt 1d10t idoit"  # look-alike letters, digits and a misspelling: every table is used


def read_threshold(model_dir: str | Path, backend: str = "torch") -> float | None:
    """The validation threshold stored for this backend; None if the folder has no threshold file."""
    return ModelFolder(model_dir).threshold(backend)


def missing_threshold(model_dir: str | Path, backend: str) -> str:
    """Why a folder cannot label texts with this backend: one line naming the file."""
    return ModelFolder(model_dir).missing_threshold(backend)


def read_preprocessing(model_dir: str | Path) -> dict:
    """The text preprocessing a model folder asks for (`preprocessing.json`); {} for none."""
    return ModelFolder(model_dir).preprocessing


def trained_max_length(model_dir: Path) -> int | None:
    """--max-seq-length of the run that trained the model, if recorded."""
    return ModelFolder(model_dir).trained_max_length


def folder_tokenizer(model_dir: Path, max_length: int, pad_token_id: int | None = None):
    """The folder's `tokenizer.json` run by the `tokenizers` library itself, truncating to `max_length` and
    padding to the longest text of a batch as transformers' fast tokenizer does with `truncation=True,
    padding=True` (tests check the ids are equal), so that ONNX prediction needs neither transformers nor torch.
    A folder without a tokenizer.json (a slow tokenizer's files) is read through transformers."""
    folder = ModelFolder(model_dir)
    path = folder.file(folder.TOKENIZER)
    if path.exists():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir).backend_tokenizer
    settings = folder.tokenizer_settings
    pad_token = settings.get("pad_token")
    pad_token = pad_token.get("content") if isinstance(pad_token, dict) else pad_token
    pad_id = tokenizer.token_to_id(pad_token) if pad_token else None
    pad_id = pad_id if pad_id is not None else (pad_token_id or 0)
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token or tokenizer.id_to_token(pad_id) or "[PAD]")
    return tokenizer


def encoded(tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """input_ids and attention_mask, truncated to the tokenizer's max length and padded to the longest text (int64):
    the model's inputs (PyTorch and ONNX Runtime alike)."""
    encodings = tokenizer.encode_batch(texts)
    return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}  # fmt: skip


def _refuse_unscorable(texts, problem_of) -> None:
    """TypeError for a text that is no string, ValueError for one that is not scorable, naming its index."""
    for i, text in enumerate(texts):
        problem = problem_of(text)
        if problem:
            raise (ValueError if isinstance(text, str) else TypeError)(f"texts[{i}]: {problem}")


class _BatchScorer:
    """The backend-independent part: tokenization, length-sorted batching, labels and thresholds."""

    backend = "abstract"

    def __init__(self, model_dir, *, threshold=None, max_length=None, batch_size=32, calibrated=True,
                 read_unicode=True):  # fmt: skip
        # `model_dir`: a path, or a ModelFolder already verified against its manifest (load_classifier)
        self.folder = model_dir if isinstance(model_dir, ModelFolder) else ModelFolder(model_dir)
        self.model_dir = self.folder.path
        config = self.folder.config
        # The calibration of this backend, if the model has one: `score` is then a probability.
        self.calibration = self.folder.calibration(self.backend) if calibrated else None
        # Undoing disguises before tokenizing, where the folder asks for it: its thresholds and calibration were
        # then fitted on validation texts that went through the same steps.
        self.preprocessing = steps_asked(self.folder.preprocessing)
        # None where the folder has no threshold for this backend: `predict` then refuses rather than guess 0.5.
        self.threshold = threshold if threshold is not None else self.folder.threshold(self.backend)
        # The length the model was trained with, never longer than its position table.
        max_length = max_length or self.folder.trained_max_length or DEFAULT_MAX_LENGTH
        self.max_length = min(max_length, config.get("max_position_embeddings", max_length))
        self.tokenizer = folder_tokenizer(self.model_dir, self.max_length, config.get("pad_token_id"))
        self.batch_size = batch_size
        # Unicode read as a reader sees it (unicode_text) and characters the vocabulary cannot read dropped,
        # for every folder: the model was trained on neither look-alike letters nor the [UNK] they become
        # (`read_unicode=False`: the text as given, for the preprocessing ablation).
        self.read_unicode = read_unicode
        self._readable = {}  # character -> whether the vocabulary reads it as something other than [UNK]
        # The steps' tables (the confusables, the English words, the repairs) are built on first use, in a second or
        # so of Python holding the GIL: at load, not under a server's first request that needs them.
        self.prepared([WARM_UP_TEXT])

    @property
    def manifest(self) -> dict | None:
        """The manifest the folder was verified against at load; None where it was not (no manifest, check=False)."""
        return self.folder.manifest

    def _unreadable_dropped(self, text: str) -> str:
        """`text` without the characters this tokenizer reads as [UNK] or as nothing (emoji, scripts its vocabulary
        does not hold, lone combining marks): the model learnt [UNK] as a sign of disguise (a lone 👍 scored 0.68,
        a Chinese thank-you 0.77) though it carries no meaning the model can read. Each character is looked up
        once per classifier."""
        if text.isascii():
            return text
        chars = set(text)
        unk = getattr(self.tokenizer.model, "unk_token", None)
        for char in chars.difference(self._readable):
            if char.isspace() or char.isascii():
                self._readable[char] = True
            else:
                tokens = self.tokenizer.encode(char, add_special_tokens=False).tokens
                self._readable[char] = bool(tokens) and unk not in tokens
        dropped = {ord(char): None for char in chars if not self._readable[char]}
        return text.translate(dropped) if dropped else text

    def cut_to_window(self, text: str) -> str:
        """`text` up to the end of its `WORDS_PER_TOKEN * max_length`-th word of two characters or more, the rest
        of which the model's window cannot reach (tokens are the same: tests/test_preprocessing_speed.py)."""
        bound = WORDS_PER_TOKEN * self.max_length
        if len(text) <= 3 * bound:  # too short to hold `bound` such words and the spaces between them
            return text
        for count, word in enumerate(_WORD_OF_TWO.finditer(text), start=1):
            if count == bound:
                return text[: word.end()]
        return text

    def prepared(self, texts: list[str]) -> list[str]:
        """The texts as the model reads them: Unicode read and unreadable characters dropped, cut at the window,
        then the folder's preprocessing steps."""
        if self.read_unicode:
            texts = [self._unreadable_dropped(read_unicode(text)) for text in texts]
        return preprocessed([self.cut_to_window(text) for text in texts], self.preprocessing)

    def _encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        return encoded(self.tokenizer, texts)

    def _logits(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def logits(self, texts: list[str], batch_size: int | None = None, progress: bool = False,
               prepared: bool = False) -> np.ndarray:  # fmt: skip
        """The raw two-class logits (no calibration) of each text, in input order; `prepared`: the texts are what
        `prepared` made of them already (the app prepares a request's texts before it waits for the model)."""
        batch_size = batch_size or self.batch_size
        if not prepared:
            _refuse_unscorable(texts, encodable_problem)
            texts = self.prepared(texts)
        # Sorting by length puts similar lengths in one batch, so dynamic padding pads little.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), 2), dtype=np.float64)
        starts = self._with_progress(range(0, len(texts), batch_size), "batch", progress)
        for start in starts:
            index = order[start : start + batch_size]
            out[index] = self._logits([texts[i] for i in index])
        return out

    def _with_progress(self, starts: range, unit: str, shown: bool):
        """`starts`, behind a progress bar that names this model and backend if `shown`."""
        if not shown:
            return starts
        from tqdm.auto import tqdm

        return tqdm(starts, desc=f"Scoring {self.model_dir.name} ({self.backend})", unit=unit)

    def scores(self, texts: list[str], batch_size: int | None = None, progress: bool = False,
               prepared: bool = False) -> np.ndarray:  # fmt: skip
        """P(toxic) for each text, in input order; calibrated where the model has a calibration."""
        logits = self.logits(texts, batch_size, progress, prepared)
        return calibrated_probability(self.calibration, logits[:, 1] - logits[:, 0])

    def predict(self, texts: str | list[str], prepared: bool = False) -> dict | list[dict]:
        """Score, label and flag at the model's threshold: a dict for one text, a list of dicts for a list.
        `prepared`: as for `logits` (the texts were checked before they were prepared)."""
        if isinstance(texts, str):
            return self.predict([texts], prepared)[0]
        if not isinstance(texts, list | tuple):
            raise TypeError(f"predict takes a string or a list of strings, got {type(texts).__name__}")
        if self.threshold is None:
            raise ValueError(self.folder.missing_threshold(self.backend))
        if not prepared:
            _refuse_unscorable(texts, text_problem)  # the rule of the API and the batch CLI: no empty text either
        return [
            {"score": float(s), "label": LABELS[int(s >= self.threshold)], "flagged": bool(s >= self.threshold)}
            for s in self.scores(texts, prepared=prepared)
        ]


class Classifier(_BatchScorer):
    """PyTorch backend.

    >>> clf = Classifier("model")
    >>> clf.predict(["you are an idiot", "thanks for the fix"])  # [{"score": ..., "label": ..., "flagged": ...}]
    """

    backend = "torch"

    def __init__(self, model_dir, *, device=None, bf16_on_cpu=False, threads=None, **kwargs):
        import torch
        from transformers import AutoModelForSequenceClassification

        if threads:  # PyTorch's threads are per process: this sets them for everything the process runs
            torch.set_num_threads(threads)
        super().__init__(model_dir, **kwargs)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.autocast = self.device.type == "cuda" or bf16_on_cpu
        # fp32 whatever the stored dtype: the shipped model is stored in fp16, which CPUs run slowly or not at all.
        self.model = AutoModelForSequenceClassification.from_pretrained(self.model_dir, dtype=torch.float32)
        self.model.to(self.device).eval()

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _logits(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = {k: torch.from_numpy(v).to(self.device) for k, v in self._encode(texts).items()}
        # bf16 autocast on GPU halves the memory traffic; CPU stays fp32 unless asked (bf16 there is slower on
        # CPUs without native bf16, and served scores should not move with the machine).
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return self.model(**batch).logits.float().cpu().numpy()


class OnnxClassifier(_BatchScorer):
    """ONNX Runtime backend on CPU; the ONNX files are built once and cached next to the checkpoint."""

    def __init__(self, model_dir, *, quantized=True, threads=None, device=None, per_text=None, parallel_passes=None,
                 **kwargs):  # fmt: skip
        from .onnx_backend import cpu_session

        self.backend = "onnx-int8" if quantized else "onnx-fp32"  # before __init__: it picks the threshold
        super().__init__(model_dir, **kwargs)
        # Dynamic int8 quantizes activations with one scale per forward pass: scored in a batch, a text's score
        # would depend on the other texts. One text per pass makes it a function of the text alone.
        self.per_text = quantized if per_text is None else per_text
        self.threads = threads or os.cpu_count() or 1
        # A list is scored by this many one-text passes side by side, each on one thread: a comment's matrices are
        # too small to split well across threads (2 cores: 1.1-1.4x the comments/s of one 2-thread pass at a
        # time, results/inference_bench.json). A single text still gets every thread (the lowest latency).
        self.parallel_passes = self.threads if parallel_passes is None else parallel_passes
        graph = ModelFolder.INT8_GRAPH if quantized else ModelFolder.FP32_GRAPH
        self._graph, self._graph_bytes = verified_graph(self.folder, graph)
        # Every session of this classifier is made from these bytes, read and checked once: a graph file changed
        # on disk later is never the one a list is scored with.
        self.session = cpu_session(self._graph_bytes, self.threads)
        self._passes = None  # (thread pool, one-thread session), made for the first list
        self._passes_lock = threading.Lock()

    @property
    def num_parameters(self) -> int:
        from safetensors import safe_open

        with safe_open(self.folder.weights, framework="np") as weights:
            return sum(int(np.prod(weights.get_slice(k).get_shape())) for k in weights.keys())

    def logits(self, texts: list[str], batch_size: int | None = None, progress: bool = False,
               prepared: bool = False) -> np.ndarray:  # fmt: skip
        """As `_BatchScorer.logits`; a list scored by one-text passes side by side skips the length-sorted batches
        (each text is scored alone anyway) and is spread over the callers whole (`_side_by_side`)."""
        if not (self.per_text and self.parallel_passes > 1 and len(texts) > 1):
            return super().logits(texts, batch_size, progress, prepared)
        if not prepared:
            _refuse_unscorable(texts, encodable_problem)
        step = SIDE_BY_SIDE_PROGRESS_STEP if progress else len(texts)
        starts = self._with_progress(range(0, len(texts), step), "chunk", progress)
        return np.concatenate([self._side_by_side(texts[start : start + step], prepared) for start in starts])

    def _logits(self, texts: list[str]) -> np.ndarray:
        if self.per_text and len(texts) > 1:  # one pass per text, one after the other
            return np.concatenate([self.session.run(["logits"], self._encode([text]))[0] for text in texts])
        return self.session.run(["logits"], self._encode(texts))[0]

    def _side_by_side(self, texts: list[str], prepared: bool = False) -> np.ndarray:
        """One pass per text, the texts dealt out to `parallel_passes` callers of a one-thread session (ONNX Runtime
        runs concurrent calls of one session in parallel). Each caller preprocesses and tokenizes its own texts
        too: that Python work then overlaps the other callers' kernels instead of running before them all
        (about 4 % more comments/s on 2 cores with the shipped model's steps, a throwaway measurement)."""
        callers = min(self.parallel_passes, len(texts))
        pool, session = self._parallel_session()

        def score(share: list[str]) -> np.ndarray:
            share = share if prepared else self.prepared(share)
            return np.concatenate([session.run(["logits"], self._encode([text]))[0] for text in share])

        # float64 as `_BatchScorer.logits` gives: the margin, and so the score, is then computed alike on every path
        out = np.empty((len(texts), 2), dtype=np.float64)
        for i, logits in enumerate(pool.map(score, [texts[i::callers] for i in range(callers)])):
            out[i::callers] = logits
        return out

    def _parallel_session(self):
        with self._passes_lock:
            if self._passes is None:
                from concurrent.futures import ThreadPoolExecutor

                from .onnx_backend import cpu_session

                self._passes = (ThreadPoolExecutor(self.parallel_passes, thread_name_prefix="onnx-pass"),
                                cpu_session(self._graph_bytes, 1))  # fmt: skip
            return self._passes


def verified_graph(model_dir, name: str) -> tuple[Path, bytes]:
    """(path, bytes) of the folder's ONNX graph `name`, the bytes checked against the sha256 that the folder's
    manifest lists for it (a shipped graph is used as shipped, never rebuilt), else against the checksum its ONNX
    cache recorded when it built it; ValueError naming the file when they differ. `model_dir`: a path or a
    ModelFolder."""
    import hashlib

    from .onnx_backend import build_onnx

    folder = model_dir if isinstance(model_dir, ModelFolder) else ModelFolder(model_dir)
    shipped = folder.listed_sha256(f"{folder.ONNX_DIR}/{name}")
    path = folder.graph(name) if shipped else build_onnx(folder.path, needed=(name,)) / name
    data = path.read_bytes()
    if shipped is None:
        shipped = json.loads((path.parent / folder.ONNX_FINGERPRINT).read_text())["built"][name]
    if hashlib.sha256(data).hexdigest() != shipped:
        raise ValueError(f"{path} differs from the graph that was shipped or built (sha256); refused")
    return path, data


# Scored at every load: a folder whose weights give NaN (tampered or cut bytes behind an intact header) refuses to
# load instead of serving "non-toxic" for everything.
SELF_CHECK_TEXTS = ["thanks for fixing the citation", "you are a complete idiot"]


def self_checked(classifier):
    """The classifier, once its scores of fixed texts are finite and, where the folder has `canaries.json`, equal
    to those recorded at shipping within the backend's tolerance (toxiclf.inference.canaries); else a ValueError
    naming the
    file. `classifier.self_check` says which checks ran (for /healthz)."""
    from .canaries import check

    compared, reason = check(classifier)  # the canaries' comparison includes finiteness: scored once
    if reason:
        raise ValueError(reason)
    if not compared and not np.all(np.isfinite(classifier.scores(SELF_CHECK_TEXTS))):
        raise ValueError(
            f"{classifier.folder.weights} gives non-finite scores with the {classifier.backend} "
            "backend: the weights are broken"
        )
    folder = classifier.folder
    checked = "canaries recorded at shipping" if compared else f"finite scores (no {folder.CANARIES})"
    vouched = f"files as in {folder.MANIFEST}" if classifier.manifest else f"no {folder.MANIFEST}"
    classifier.self_check = f"{checked}; {vouched}"
    return classifier


def _verified_folder(model_dir: Path, check: bool) -> ModelFolder:
    """The folder, verified against its manifest (toxiclf.inference.manifest) before anything is read from it; a
    shipped folder must have one. Nothing is checked with `check=False` (shipping, before the manifest is written)."""
    if not check:
        return ModelFolder(model_dir)
    from ..paths import shipped_model_at

    return ModelFolder.load(model_dir, required=shipped_model_at(Path(model_dir)) is not None)


def _checked(classifier, check: bool, need_threshold: bool):
    if need_threshold and classifier.threshold is None:
        raise ValueError(classifier.folder.missing_threshold(classifier.backend))
    return self_checked(classifier) if check else classifier


def load_classifier(model_dir=None, backend: str = "auto", check: bool = True, need_threshold: bool = True,
                    **kwargs):  # fmt: skip
    """A classifier for `model_dir` (default: the shipped model; "fast": the fast tier) with the named backend.

    >>> from toxiclf import load_classifier
    >>> load_classifier().predict("thanks for the fix")  # {"score": ..., "label": "non-toxic", "flagged": False}
    >>> load_classifier("fast").predict("thanks for the fix")  # 3 layers: about twice the comments/s per core

    `auto` picks the fastest backend that loads (see `load_classifier_for_serving`); `torch`, `onnx-int8` and
    `onnx-fp32` name one. Every load runs the self-check (`self_checked`); `check=False` skips it (shipping, which
    records the canaries, and the calibration fit, which scores a folder before it has its calibration). A folder
    without a threshold for the backend (`threshold.json`) refuses to load unless `threshold=` is given, or
    `need_threshold=False` says only `scores` will be asked for (evaluation of a freshly trained checkpoint).
    """
    from ..paths import model_folder

    model_dir = model_folder(model_dir, must_exist=True)
    if backend == "auto":
        return load_classifier_for_serving(model_dir, check=check, need_threshold=need_threshold, **kwargs)
    folder = _verified_folder(model_dir, check)
    if backend == "torch":
        return _checked(Classifier(folder, **kwargs), check, need_threshold)
    if backend in ("onnx-int8", "onnx-fp32"):
        classifier = OnnxClassifier(folder, quantized=backend == "onnx-int8", **kwargs)
        return _checked(classifier, check, need_threshold)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


# A GPU that PyTorch can use needs its kernel driver (NVIDIA's, or AMD's for ROCm): on Linux without either, the
# answer is known without importing PyTorch, which alone takes about a second of every CLI run and server start.
GPU_DRIVER_PATHS = ("/proc/driver/nvidia", "/dev/kfd")


def cuda_available() -> bool:
    """A GPU through PyTorch; False where PyTorch is not installed (the prediction install)."""
    if sys.platform == "linux" and not any(Path(path).exists() for path in GPU_DRIVER_PATHS):
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def load_classifier_for_serving(model_dir, backend: str = "auto", check: bool = True, need_threshold: bool = True,
                                parallel_passes: int | None = None, **kwargs):  # fmt: skip
    """`auto`: PyTorch on a GPU; on CPU ONNX int8 (the fastest there), falling back to PyTorch if it fails.
    `parallel_passes` goes to an ONNX backend (see OnnxClassifier); PyTorch has no such setting."""
    checks = {"check": check, "need_threshold": need_threshold}
    onnx = {} if parallel_passes is None else {"parallel_passes": parallel_passes}
    if backend != "auto":
        return load_classifier(model_dir, backend, **checks, **(onnx if backend.startswith("onnx") else {}), **kwargs)
    folder = _verified_folder(Path(model_dir), check)  # a folder that differs: no backend is tried
    if cuda_available():
        return _checked(Classifier(folder, **kwargs), **checks)
    try:
        return _checked(OnnxClassifier(folder, quantized=True, **onnx, **kwargs), **checks)
    except Exception as error:  # noqa: BLE001 - any export/runtime failure (its canaries too) must not stop the server
        logger.warning("ONNX int8 backend unavailable (%s); serving with PyTorch", error)
        # PyTorch must pass the same checks, or nothing is served
        return _checked(Classifier(folder, **kwargs), **checks)
