"""The web app: a page and a JSON API that serve one toxic-comment classifier.

cd app && python app.py                   # development, http://127.0.0.1:5000
python -m app.serve --port 8000           # production (waitress)
"""

import logging
import os

from flask import Flask

from .model import load_served_model

logger = logging.getLogger(__name__)


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
    )
    if test_config:
        app.config.update(test_config)

    model = app.config["MODEL_DIR"] or None
    app.extensions["toxiclf"] = load_served_model(model, app.config["BACKEND"], app.config["BATCH_SIZE"])

    from . import errors, views

    app.register_blueprint(views.page)
    app.register_blueprint(views.api)
    errors.register(app)
    return app
