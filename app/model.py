"""The model the app serves: loaded once at start-up, with its threshold and recorded test metrics."""

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from toxiclf.classifier import load_classifier_for_serving
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR
from toxiclf.results_files import load_results, measured_on

logger = logging.getLogger(__name__)

HOW_TO_GET_A_MODEL = (
    "No model is loaded: train one (see the README, e.g. `make smoke`) and start the app with "
    "TOXICLF_MODEL=outputs/student-odd, or restore the shipped model folder `model/`."
)


class FairLock:
    """A lock granted in arrival order (threading.Lock is not): a large request that gives the model back
    between slices queues behind the requests that arrived meanwhile, so turns go round-robin."""

    def __init__(self):
        self._changed = threading.Condition()
        self._queue: deque = deque()
        self._held = False

    def acquire(self, timeout: float | None = None) -> bool:
        with self._changed:
            ticket = object()
            self._queue.append(ticket)
            granted = self._changed.wait_for(lambda: not self._held and self._queue[0] is ticket, timeout)
            if not granted:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may be free to go now
                return False
            self._queue.popleft()
            self._held = True
            return True

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()

    def locked(self) -> bool:
        return self._held

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


class ClientGone(Exception):
    """The client closed its connection: the rest of its request is not worth the model's time."""


class Busy(Exception):
    """The model cannot take this request now; the client should retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ServedModel:
    """A classifier shared by all requests, or the reason there is none.

    Requests take turns on the model (fast tokenizers are not safe to call from several threads at once, and two
    cores gain nothing from two forward passes side by side), in arrival order and in slices of `slice_texts`
    texts: a large request gives the model back between slices, so a one-comment request waits for one slice,
    not for the whole large request. At most `max_waiting` requests wait; the next gets `Busy` at once, and so
    does a request that cannot start within `wait_seconds` or that runs past `deadline_seconds`.
    """

    classifier: object | None
    name: str
    error: str | None = None
    test_metrics: dict | None = None
    slice_texts: int = 4
    max_waiting: int = 32
    wait_seconds: float = 5.0
    deadline_seconds: float = 20.0
    lock: FairLock = field(default_factory=FairLock)
    _admitted: threading.BoundedSemaphore | None = None

    def __post_init__(self):
        self._admitted = threading.BoundedSemaphore(self.max_waiting)

    @property
    def ready(self) -> bool:
        return self.classifier is not None

    def predict(self, texts: list[str], client_gone=lambda: False) -> list[dict]:
        """Results per text; `client_gone()` is asked before each slice (waitress tells whether the client left)."""
        slices = [texts[start : start + self.slice_texts] for start in range(0, len(texts), self.slice_texts)]
        return self._in_turns(slices, self.classifier.predict, client_gone, self.deadline_seconds)

    def explain(self, texts: list[str], max_words: int, client_gone=lambda: False) -> list[list[dict]]:
        """Word contributions per text (see toxiclf.explain); one text per turn on the model. No deadline: a
        request may hold 8 texts of 200 words, seconds each, and it gives the model back after every text."""
        from toxiclf.explain import explain

        return self._in_turns([[text] for text in texts], lambda one: explain(self.classifier, one, max_words),
                              client_gone)  # fmt: skip

    def _in_turns(self, pieces: list, work, client_gone, deadline_seconds: float | None = None) -> list:
        """`work(piece)` for each piece, each in its own turn on the model: admission, waits and deadline as above."""
        if not self._admitted.acquire(blocking=False):
            raise Busy(f"the server is busy ({self.max_waiting} requests waiting); retry shortly")
        try:
            started, results = time.monotonic(), []
            for piece in pieces:
                if deadline_seconds is not None and time.monotonic() - started > deadline_seconds:
                    raise Busy(f"the request ran past its {deadline_seconds:g} s deadline; send fewer texts")
                if client_gone():
                    raise ClientGone
                if not self.lock.acquire(timeout=self.wait_seconds):
                    raise Busy(f"the model stayed busy for {self.wait_seconds:g} s; retry shortly")
                try:
                    results += work(piece)
                finally:
                    self.lock.release()
            return results
        finally:
            self._admitted.release()


def recorded_test_metrics(model_dir: Path, backend: str, results_dir: Path = RESULTS_DIR) -> dict | None:
    """Test metrics that run_eval.py recorded for these very weights served by this backend, if any."""
    target = model_dir.resolve()
    for result in load_results(results_dir):
        recorded = result.get("path")
        same_folder = recorded and (RESULTS_DIR.parent / recorded).resolve() == target
        if same_folder and result.get("backend") == backend and measured_on(result, model_dir):
            metrics = result["metrics"]["threshold_validation"]
            return {
                "roc_auc": metrics["roc_auc"],
                "f1": metrics["f1"],
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "test_rows": result["provenance"]["eval_rows"]["test"],
                "backend": backend,
            }
    return None


def load_served_model(model_dir: Path | None, backend: str = "auto", batch_size: int = 32) -> ServedModel:
    """The model to serve, or, when it cannot load, a ServedModel that says why in one line naming the file."""
    model_dir = model_dir or SHIPPED_MODEL_DIR
    if not (model_dir / "config.json").exists():
        logger.warning("No model at %s", model_dir)
        return ServedModel(None, name="none", error=f"No model at {model_dir} (no config.json). {HOW_TO_GET_A_MODEL}")
    problem = broken_model_file(model_dir)
    if problem is None:
        try:
            classifier = load_classifier_for_serving(model_dir, backend=backend, batch_size=batch_size)
        except Exception as error:  # noqa: BLE001 - the server starts and answers 503 with the reason
            problem = f"{model_dir} cannot be loaded: {type(error).__name__}: {first_line(error)}"
    if problem:
        logger.error("%s", problem)
        return ServedModel(None, name=model_dir.name, error=problem)
    logger.info("Serving %s (%s backend, threshold %.3f)", model_dir, classifier.backend, classifier.threshold)
    return ServedModel(
        classifier, name=model_dir.name, test_metrics=recorded_test_metrics(model_dir, classifier.backend)
    )


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"


def broken_model_file(model_dir: Path) -> str | None:
    """A one-line description of the first unreadable file of a model folder, or None if they all read."""
    import json

    from safetensors import safe_open

    for name in ("config.json", "threshold.json", "tokenizer.json", "tokenizer_config.json"):
        path = model_dir / name
        if path.exists():
            try:
                json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError) as error:
                return f"{path} is not valid JSON ({first_line(error)})"
    if not (model_dir / "tokenizer.json").exists() and not (model_dir / "tokenizer_config.json").exists():
        return f"{model_dir} has no tokenizer (tokenizer.json); save it with the model"
    weights = model_dir / "model.safetensors"
    if not weights.exists():
        return f"{weights} is missing"
    try:
        with safe_open(weights, framework="np") as tensors:
            for key in tensors.keys():
                tensors.get_slice(key)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        return f"{weights} cannot be read, truncated or corrupt? ({first_line(error)})"
    return None
