"""Routes: the page (form POST, works without JavaScript) and the JSON API."""

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from .validation import InvalidInput, check_text, texts_from_json

page = Blueprint("page", __name__)
api = Blueprint("api", __name__)


def served():
    return current_app.extensions["toxiclf"]


@page.route("/", methods=["GET", "POST"])
def index():
    model = served()
    text, result, problem = "", None, None
    if request.method == "POST":
        text = request.form.get("text", "")
        try:
            check_text(text, current_app.config["MAX_CHARS"], where="The comment")
        except InvalidInput as error:
            problem = error.message[0].upper() + error.message[1:] + "."
        else:
            if model.ready:
                result = model.predict([text])[0]
    status = 400 if problem else 200
    return render_template("index.html", model=model, text=text, result=result, problem=problem), status


@api.route("/api/v1/classify", methods=["POST"])
def classify():
    model = served()
    body = request.get_json(silent=True)  # None for a non-JSON body or a wrong content type
    if body is None:
        abort(400, description='the body must be JSON with Content-Type: application/json, e.g. {"text": "..."}')
    try:
        texts = texts_from_json(body, current_app.config["MAX_TEXTS"], current_app.config["MAX_CHARS"])
    except InvalidInput as error:
        abort(error.status, description=error.message)
    if not model.ready:
        abort(503, description=model.error)
    return jsonify(
        {
            "model": model.name,
            "backend": model.classifier.backend,
            "threshold": model.classifier.threshold,
            "results": model.predict(texts),
        }
    )


@api.route("/healthz")
def healthz():
    model = served()
    if not model.ready:
        return jsonify({"status": "no model", "model": None, "message": model.error}), 503
    return jsonify({"status": "ok", "model": model.name, "backend": model.classifier.backend,
                    "threshold": model.classifier.threshold})  # fmt: skip
