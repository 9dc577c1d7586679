"""Routes: the page (form POST, works without JavaScript), the JSON API, and the operator's endpoints (metrics,
the OpenAPI description)."""

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from . import telemetry
from .model import Busy, ClientGone
from .validation import InvalidInput, check_explainable, check_text, texts_from_json

page = Blueprint("page", __name__)
api = Blueprint("api", __name__)
ops = Blueprint("ops", __name__)


def served():
    return current_app.extensions["toxiclf"]


# Contribution to P(toxic) at which a word gets highlight level 1, 2, 3, 4 (colour and underline weight).
HIGHLIGHT_LEVELS = (0.01, 0.05, 0.1, 0.2)


def highlighted_segments(text: str, spans: list[dict]) -> list[dict]:
    """The text cut into plain and highlighted pieces, in order, for the page to render without JavaScript."""
    segments, position = [], 0
    for span in spans:
        level = sum(span["score"] >= bound for bound in HIGHLIGHT_LEVELS)
        if not level:
            continue
        segments.append({"text": text[position : span["start"]], "level": 0})
        segments.append({"text": span["text"], "level": level, "score": span["score"]})
        position = span["end"]
    segments.append({"text": text[position:], "level": 0})
    return [s for s in segments if s["text"]]


@page.route("/", methods=["GET", "POST"])
def index():
    model = served()
    text, result, problem = "", None, None
    wants_explanation = request.method == "POST" and bool(request.form.get("explain"))
    if request.method == "POST":
        text = request.form.get("text", "")
        try:
            check_text(text, current_app.config["MAX_CHARS"], where="The comment")
        except InvalidInput as error:
            problem = error.message[0].upper() + error.message[1:] + "."
        else:
            record = telemetry.current()
            record.asked([text])
            if model.ready:
                try:
                    result = model.predict([text], times=record.times)[0]
                    record.scored([result])
                except Busy as busy:
                    return render_template("index.html", model=model, text=text, result=None, explain=wants_explanation,
                                           problem=str(busy).capitalize() + "."), 503  # fmt: skip
                if wants_explanation:
                    result.update(page_explanation(model, text))
    status = 400 if problem else 200
    return render_template("index.html", model=model, text=text, result=result, problem=problem,
                           explain=wants_explanation), status  # fmt: skip


def page_explanation(model, text: str) -> dict:
    """The highlighted segments, or why there are none: the verdict is shown either way."""
    max_passes = current_app.config["MAX_EXPLAIN_PASSES"]
    record = telemetry.current()
    try:
        check_explainable([text], max_passes)
        spans = model.explain([text], max_passes, times=record.times)[0]
    except (InvalidInput, Busy) as error:
        record.refused = "busy" if isinstance(error, Busy) else "too_large"  # the verdict is answered all the same
        return {"explain_note": f"No explanation: {error.message}."}
    return {"segments": highlighted_segments(text, spans)}


@api.route("/api/v1/classify", methods=["POST"])
def classify():
    model = served()
    try:
        body = request.get_json(silent=True)  # None for a non-JSON body or a wrong content type
    except RecursionError:  # e.g. thousands of nested brackets: hostile, not an internal error
        abort(400, description="the JSON body is nested too deeply")
    if body is None:
        abort(400, description='the body must be JSON with Content-Type: application/json, e.g. {"text": "..."}')
    config = current_app.config
    explain = body.pop("explain", False) if isinstance(body, dict) else False
    try:
        if not isinstance(explain, bool):
            raise InvalidInput('"explain" must be true or false')
        texts = texts_from_json(body, config["MAX_TEXTS"], config["MAX_CHARS"], config["MAX_REQUEST_CHARS"])
        record = telemetry.current()
        record.asked(texts)
        if explain:
            check_explainable(texts, config["MAX_EXPLAIN_PASSES"])
    except InvalidInput as error:
        abort(error.status, description=error.message)
    if not model.ready:
        abort(503, description=model.error)
    # waitress answers whether the client closed its connection (see app/serve.py: channel_request_lookahead).
    client_gone = request.environ.get("waitress.client_disconnected", lambda: False)
    try:
        if explain:
            results = model.predict_and_explain(texts, config["MAX_EXPLAIN_PASSES"], client_gone, record.times)
        else:
            results = model.predict(texts, client_gone, record.times)
    except ClientGone:
        current_app.logger.info("Client gone after part of a %d-text request; stopped scoring it", len(texts))
        return "", 499  # nobody reads it; logged like nginx's "client closed request"
    except Busy as busy:
        response = jsonify({"error": {"code": 503, "message": str(busy)}})
        response.headers["Retry-After"] = str(busy.retry_after)
        return response, 503
    record.scored(results)
    return jsonify(
        {"model": model.name, "backend": model.classifier.backend, "threshold": model.classifier.threshold,
         "calibrated": model.classifier.calibration is not None, "results": results}
    )  # fmt: skip


@page.route("/model-card")
def model_card():
    """The served model's card (model/README.md), as the Markdown it is written in."""
    model = served()
    card = model.classifier.folder.file(model.classifier.folder.CARD) if model.ready else None
    if card is None or not card.exists():
        abort(404, description="this model has no model card")
    return card.read_text(), 200, {"Content-Type": "text/markdown; charset=utf-8"}


@api.route("/healthz")
def healthz():
    model = served()  # no model turn is taken: the answer never waits for the model
    if not model.ready:
        return jsonify({"status": "no model", "model": None, "message": model.error}), 503
    changed = model.folder_problem()
    if changed:
        return jsonify({"status": "model changed", "model": model.name, "message": changed}), 503
    return jsonify({"status": "ok", "model": model.name, "backend": model.classifier.backend,
                    "threshold": model.classifier.threshold,
                    "calibrated": model.classifier.calibration is not None,
                    "self_check": getattr(model.classifier, "self_check", None)})  # fmt: skip


@ops.route("/metrics")
def metrics():
    """The Prometheus text format (app/metrics.py); 404 when the operator turned metrics off."""
    serving_metrics = current_app.extensions["toxiclf_metrics"]
    if serving_metrics is None:
        abort(404, description="metrics are turned off (TOXICLF_METRICS=0 or toxiclf-serve --no-metrics)")
    from .metrics import CONTENT_TYPE_LATEST

    return serving_metrics.render(), 200, {"Content-Type": CONTENT_TYPE_LATEST}


@ops.route("/openapi.json")
def openapi():
    """The API's OpenAPI 3.1 description (app/openapi.json), as written: clients generate code from it."""
    return current_app.extensions["toxiclf_openapi"], 200, {"Content-Type": "application/json"}
