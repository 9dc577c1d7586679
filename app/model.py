"""The model the app serves: loaded once at start-up, with its threshold and the test metrics its folder records
(metrics.json, written at shipping: the app reads nothing of results/)."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from toxiclf.inference.classifier import load_classifier_for_serving
from toxiclf.inference.explain import contributions, occlusion_variants
from toxiclf.inference.model_folder import ModelFolder
from toxiclf.paths import ModelNotFound, model_folder, sha256_file

from .scheduling import CLASSIFY, EXPLAIN, Busy, ClientGone, Lane, PriorityLock, TurnTimes

__all__ = ["Busy", "ClientGone", "ServedModel", "TurnTimes", "load_served_model"]

logger = logging.getLogger(__name__)

HOW_TO_GET_A_MODEL = (
    "No model is loaded: train one (see the README, e.g. `make smoke`) and start the app with "
    "TOXICLF_MODEL=outputs/student-odd, or restore the shipped model folder `model/`."
)


@dataclass
class ServedModel:
    """A classifier shared by all requests, or the reason there is none.

    A request's texts are prepared (Unicode read, cut at the model's window, the folder's preprocessing) in its own
    thread before it asks for the model, so that the model's turns run the network alone. Classification takes turns
    of `slice_texts` texts and, past a turn's first text, `slice_chars` prepared characters; at most `max_waiting`
    classification requests are admitted
    (the next gets `Busy` at once), and so does one that cannot start a turn within `wait_seconds` or runs past
    `deadline_seconds`. Explanations run in their own lane (app.scheduling): at most `max_explaining` at once,
    turns of at most `explain_slice_passes` model passes (fewer for long texts: `explain_slice_chars`), taken when
    no classification turn waits or after four in a row, and a deadline of `explain_deadline_seconds` per request.
    """

    classifier: object | None
    name: str
    error: str | None = None
    test_metrics: dict | None = None
    slice_texts: int = 4
    slice_chars: int = 4_000
    max_waiting: int = 32
    wait_seconds: float = 5.0
    deadline_seconds: float = 20.0
    explain_slice_passes: int = 8
    explain_slice_chars: int = 4_000
    max_explaining: int = 2
    explain_deadline_seconds: float = 10.0
    lock: PriorityLock = field(default_factory=PriorityLock)
    watch: object | None = None  # toxiclf.inference.manifest.ManifestWatch of the loaded folder, for /healthz

    def __post_init__(self):
        self.classifying = Lane(self.lock, name="classification", priority=CLASSIFY, max_admitted=self.max_waiting,
                                wait_seconds=self.wait_seconds, deadline_seconds=self.deadline_seconds)  # fmt: skip
        # An explanation turn may wait as long as its deadline allows: it yields to every classification turn.
        self.explaining = Lane(self.lock, name="explanation", priority=EXPLAIN, max_admitted=self.max_explaining,
                               wait_seconds=self.explain_deadline_seconds,
                               deadline_seconds=self.explain_deadline_seconds, retry_after=2)  # fmt: skip

    @property
    def ready(self) -> bool:
        return self.classifier is not None

    def info(self) -> dict:
        """What is served, for the metrics' info line: name, backend, threshold, calibrated, the weights' sha256
        (the digest every results file records: the same weights, the same numbers)."""
        if not self.ready:
            return {"name": self.name, "backend": "none", "threshold": "", "calibrated": "", "weights_sha256": ""}
        weights = self.classifier.folder.weights
        return {
            "name": self.name,
            "backend": self.classifier.backend,
            "threshold": repr(float(self.classifier.threshold)),
            "calibrated": str(self.classifier.calibration is not None).lower(),
            "weights_sha256": sha256_file(weights) if weights.exists() else "",
        }

    def predict(self, texts: list[str], client_gone=lambda: False, times: TurnTimes | None = None) -> list[dict]:
        """Results per text; `client_gone()` is asked before each slice (waitress tells whether the client left);
        `times` collects where the request's time went (queue and model, per lane)."""
        with self.classifying.admission():  # a place in the lane first: a refused request prepares nothing
            return self.classifying.turns(self._slices(texts), self._predict_prepared, client_gone, times)

    def _predict_prepared(self, texts: list[str]) -> list[dict]:
        return self.classifier.predict(texts, prepared=True)

    def _slices(self, texts: list[str]) -> list[list[str]]:
        return cut_into_turns(self.classifier.prepared(texts), self.slice_texts, self.slice_chars)

    def folder_problem(self) -> str | None:
        """Why the served folder no longer matches its manifest (re-checked cheaply: inference.manifest), or None."""
        problem = self.watch.problem() if self.watch is not None else None
        return shown_to_clients(problem, self.classifier.model_dir) if problem else None

    def predict_and_explain(self, texts: list[str], max_words: int, client_gone=lambda: False,
                            times: TurnTimes | None = None) -> list[dict]:  # fmt: skip
        """`predict`'s results with each text's `spans`; the whole request holds a place in the explanation lane,
        so that explanation requests never take the places of small classification requests."""
        with self.explaining.admission():
            results = self.classifying.turns(self._slices(texts), self._predict_prepared, client_gone, times)
            for result, spans in zip(results, self._explained(texts, max_words, client_gone, times), strict=True):
                result["spans"] = spans
        return results

    def explain(self, texts: list[str], max_words: int, client_gone=lambda: False,
                times: TurnTimes | None = None) -> list[list[dict]]:  # fmt: skip
        """Word contributions per text (see toxiclf.inference.explain), scored in the explanation lane."""
        with self.explaining.admission():
            return self._explained(texts, max_words, client_gone, times)

    def _explained(self, texts: list[str], max_words: int, client_gone, times=None) -> list[list[dict]]:
        plans = [occlusion_variants(text, max_words) for text in texts]
        variants = [variant for _, text_variants in plans for variant in text_variants]
        scores = self.explaining.turns(self._explain_turns(variants), self.classifier.scores, client_gone, times)
        explained, first = [], 0
        for text, (spans, text_variants) in zip(texts, plans, strict=True):
            explained.append(contributions(text, spans, scores[first : first + len(text_variants)]))
            first += len(text_variants)
        return explained

    def _explain_turns(self, variants: list[str]) -> list[list[str]]:
        return cut_into_turns(variants, self.explain_slice_passes, self.explain_slice_chars)


def cut_into_turns(texts: list[str], max_texts: int, max_chars: float = float("inf")) -> list[list[str]]:
    """Consecutive texts cut into turns of at most `max_texts` texts (one model pass each) and, past a turn's first
    text, `max_chars` characters (tokenizing dominates a long text's pass)."""
    turns, chars = [], 0
    for text in texts:
        if not turns or len(turns[-1]) == max_texts or chars + len(text) > max_chars:
            turns.append([])
            chars = 0
        turns[-1].append(text)
        chars += len(text)
    return turns


def recorded_test_metrics(model_dir: Path, backend: str) -> dict | None:
    """Test metrics the folder records for these very weights served by this backend (ModelFolder.METRICS, written
    at shipping), if any."""
    return ModelFolder(model_dir).recorded_metrics(backend)


def load_served_model(model: str | Path | None, backend: str = "auto", batch_size: int = 32) -> ServedModel:
    """The model to serve (a folder, or a shipped model's name; None: the default model), or, when it cannot load,
    a ServedModel that says why in one line naming the file."""
    try:
        model_dir = model_folder(model, must_exist=True)
    except ModelNotFound as error:
        logger.warning("%s", error)
        folder = Path(str(model)) if model else None
        return ServedModel(None, name="none", error=f"{shown_to_clients(str(error), folder)}. {HOW_TO_GET_A_MODEL}")
    problem = broken_model_file(model_dir)
    if problem is None:
        try:
            # One pass at a time: the server already takes model turns one after another for all its clients, and
            # side-by-side passes inside a turn took CPU from the threads answering the others (mixed load test).
            classifier = load_classifier_for_serving(model_dir, backend=backend, batch_size=batch_size,
                                                     parallel_passes=1)  # fmt: skip
            # Read with the folder it was verified with: a broken metrics file refuses the folder like any other.
            test_metrics = classifier.folder.recorded_metrics(classifier.backend)
        except Exception as error:  # noqa: BLE001 - the server starts and answers 503 with the reason
            problem = f"{model_dir} cannot be loaded: {type(error).__name__}: {first_line(error)}"
    if problem:
        logger.error("%s", problem)  # the log names the folder in full; clients learn its name only
        return ServedModel(None, name=model_dir.name, error=shown_to_clients(problem, model_dir))
    logger.info("Serving %s (%s backend, threshold %.3f)", model_dir, classifier.backend, classifier.threshold)
    return ServedModel(
        classifier,
        name=model_dir.name,
        test_metrics=test_metrics,
        watch=classifier.folder.watch() if classifier.manifest else None,
    )


def shown_to_clients(message: str, model_dir: Path | None) -> str:
    """`message` with the server's path of the model folder replaced by the folder's name: a 503 tells clients what
    is wrong, not where the server keeps its files."""
    if model_dir is None:
        return message
    for path in sorted({str(model_dir), str(model_dir.resolve()), str(model_dir.absolute())}, key=len, reverse=True):
        if len(path) > 1:
            message = message.replace(path, model_dir.name)
    return message


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"


def broken_model_file(model_dir: Path) -> str | None:
    """A one-line description of the first unreadable file of a model folder, or None if they all read."""
    import json

    from safetensors import safe_open

    folder = ModelFolder(model_dir)
    for name in (folder.CONFIG, folder.THRESHOLD, folder.TOKENIZER, folder.TOKENIZER_CONFIG):
        path = model_dir / name
        if path.exists():
            try:
                json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError) as error:
                return f"{path} is not valid JSON ({first_line(error)})"
    if not folder.file(folder.TOKENIZER).exists() and not folder.file(folder.TOKENIZER_CONFIG).exists():
        return f"{model_dir} has no tokenizer ({folder.TOKENIZER}); save it with the model"
    weights = folder.weights
    if not weights.exists():
        return f"{weights} is missing"
    try:
        with safe_open(weights, framework="np") as tensors:
            for key in tensors.keys():
                tensors.get_slice(key)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        return f"{weights} cannot be read, truncated or corrupt? ({first_line(error)})"
    return None
