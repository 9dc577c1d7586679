"""Error answers: JSON under /api and /healthz, a short page elsewhere; never a stack trace."""

import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def json_error(status: int, message: str):
    return jsonify({"error": {"code": status, "message": message}}), status


def register(app):
    @app.errorhandler(HTTPException)
    def http_error(error):
        if wants_json():
            return json_error(error.code, error.description)
        return render_template("error.html", code=error.code, message=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error):
        # Logged with its traceback for us; the client learns only that it failed.
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        generic = InternalServerError.description
        if wants_json():
            return json_error(500, "internal error; it has been logged")
        return render_template("error.html", code=500, message=generic), 500
