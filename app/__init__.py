"""The web app: a page and a JSON API that serve one toxic-comment classifier.

cd app && python app.py                   # development, http://127.0.0.1:5000
python -m app.serve --port 8000           # production (waitress)
"""

import logging
import os
from pathlib import Path

from flask import Flask

from .model import load_served_model

logger = logging.getLogger(__name__)

OPENAPI_FILE = Path(__file__).with_name("openapi.json")  # the API's contract, served as is at /openapi.json


def env_flag(name: str, default: bool) -> bool:
    """An on/off environment variable: 1/true/yes/on or 0/false/no/off (any case); unset or empty: `default`."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError(f"{name}={value!r}: use 1 or 0")
    return value in ("1", "true", "yes", "on")


def create_app(test_config=None):
    """Application factory: configuration, the model (loaded once, here), blueprints and error handlers."""
    app = Flask(__name__)
    # Werkzeug answers "//" in a path with a redirect whose Location is built from the client's Host header; a
    # path with an empty segment is simply not found here.
    app.url_map.merge_slashes = False
    app.config.from_mapping(
        MODEL_DIR=os.environ.get("TOXICLF_MODEL"),  # a folder, or a shipped model's name (default, fast); None: default
        BACKEND=os.environ.get("TOXICLF_BACKEND", "auto"),  # auto | torch | onnx-int8
        MAX_CONTENT_LENGTH=1024 * 1024,  # bytes per request body; larger ones get 413
        MAX_TEXTS=256,  # texts per API request
        MAX_CHARS=20_000,  # characters per text
        MAX_REQUEST_CHARS=200_000,  # characters per request, all texts together: the cost budget
        MAX_EXPLAIN_PASSES=400,  # model passes per explained request (one per text and one per word)
        BATCH_SIZE=32,  # texts per forward pass
        METRICS=env_flag("TOXICLF_METRICS", True),  # GET /metrics (Prometheus); off: 404 there, nothing counted
        FLAGGED_WINDOW=1000,  # texts behind the flagged-share gauge: the last N scored
        LOG_TEXTS=env_flag("TOXICLF_LOG_TEXTS", False),  # the comments' texts in the request log lines
    )
    if test_config:
        app.config.update(test_config)

    model = app.config["MODEL_DIR"] or None
    app.extensions["toxiclf"] = load_served_model(model, app.config["BACKEND"], app.config["BATCH_SIZE"])
    app.extensions["toxiclf_openapi"] = OPENAPI_FILE.read_bytes()
    app.extensions["toxiclf_metrics"] = None
    if app.config["METRICS"]:
        from .metrics import ServingMetrics  # prometheus-client: the serve extra

        app.extensions["toxiclf_metrics"] = ServingMetrics(
            lambda: app.extensions["toxiclf"], app.extensions["toxiclf"].info(), app.config["FLAGGED_WINDOW"]
        )

    from . import errors, telemetry, views

    app.register_blueprint(views.page)
    app.register_blueprint(views.api)
    app.register_blueprint(views.ops)
    errors.register(app)
    telemetry.register(app)
    return app
