"""What each request did, told twice: one JSON log line, and the Prometheus metrics (app/metrics.py).

    toxiclf-serve                        # JSON lines on stderr: one per request, and the server's own messages
    TOXICLF_LOG_TEXTS=1 toxiclf-serve    # the comments' texts in the request lines too (off by default)

A request's id is the client's `X-Request-ID` when it is a plain token (letters, digits and `._:+/=@-`, at most
128 characters), else a fresh one; either way it is echoed in the answer's `X-Request-ID` and logged, so that a
client's complaint can be found in the logs. The comment texts are never logged unless the operator turns it on:
they are what people wrote, and the logs are read by more people than the comments were meant for.
"""

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app, g, request

from .scheduling import TurnTimes

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}", re.ASCII)
# The routes that score comments: their 400 / 413 / 503 answers are refusals, counted by reason.
SCORING_ENDPOINTS = {"/api/v1/classify", "/"}
REFUSED_BY_STATUS = {400: "invalid", 413: "too_large", 503: "busy"}


@dataclass
class RequestRecord:
    """Filled by the views as the request goes: what it asked for and what the model did for it."""

    request_id: str
    started: float
    texts: int | None = None  # of a well-formed request
    characters: int | None = None
    flags: list | None = None  # one per text scored, when the request was answered with scores
    refused: str | None = None  # set by a view where the status alone does not say (an explanation refused on the page)
    times: TurnTimes = field(default_factory=TurnTimes)
    logged_texts: list | None = None  # only with LOG_TEXTS on

    def asked(self, texts: list[str]) -> None:
        self.texts, self.characters = len(texts), sum(map(len, texts))
        if current_app.config["LOG_TEXTS"]:
            self.logged_texts = list(texts)

    def scored(self, results: list[dict]) -> None:
        self.flags = [result["flagged"] for result in results]


def current() -> RequestRecord:
    """This request's record (made on first use, e.g. when a request fails before the app's hooks run)."""
    record = g.get("telemetry")
    if record is None:
        record = g.telemetry = RequestRecord(request_id=request_id(), started=time.perf_counter())
    return record


def request_id() -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _GOOD_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """Every log record as one JSON line: time, level, logger, and either a request's fields or the message
    (a traceback, when there is one, goes in `exception`, escaped onto the same line)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "request", None)
        if fields is not None:
            line["event"] = "request"
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _Fields:
    """A request's fields as the message of a text log line (JSON too), built only if a handler prints it."""

    def __init__(self, fields: dict):
        self.fields = fields

    def __str__(self):
        return json.dumps(self.fields, ensure_ascii=False, default=str)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def register(app) -> None:
    """The hooks that give every request an id, then log and count it once its answer is ready."""

    @app.before_request
    def start():
        current()

    @app.after_request
    def finish(response):
        record = current()
        response.headers[REQUEST_ID_HEADER] = record.request_id
        endpoint = request.url_rule.rule if request.url_rule is not None else "other"
        status = response.status_code
        if record.refused is None and endpoint in SCORING_ENDPOINTS and request.method == "POST":
            record.refused = REFUSED_BY_STATUS.get(status)
            if record.refused == "busy" and not app.extensions["toxiclf"].ready:
                record.refused = "no_model"
        seconds = time.perf_counter() - record.started
        metrics = app.extensions.get("toxiclf_metrics")
        if metrics is not None:
            metrics.observe(endpoint, status, seconds, record)
        if logger.isEnabledFor(logging.INFO):
            fields = {
                "request_id": record.request_id,
                "method": request.method,
                "endpoint": endpoint,
                "path": request.path[:200],
                "status": status,
                "texts": record.texts,
                "characters": record.characters,
                "flagged": sum(record.flags) if record.flags is not None else None,
                "queue_ms": _ms(record.times.total_wait),
                "model_ms": _ms(record.times.total_model),
                "explanation_passes": record.times.items.get("explanation", 0),
                "duration_ms": _ms(seconds),
                "refused": record.refused,
            }
            if record.logged_texts is not None:
                fields["texts_content"] = record.logged_texts
            logger.info("request %s", _Fields(fields), extra={"request": fields})
        return response
