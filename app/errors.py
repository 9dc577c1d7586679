"""Error answers: JSON under /api and /healthz, a short page elsewhere; never a stack trace."""

import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def json_error(status: int, message: str):
    return jsonify({"error": {"code": status, "message": message}}), status


# The page's own files only: its script and stylesheet are served from /static; the score bar's width is the
# one inline style attribute.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def register(app):
    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        if wants_json():
            response, status = json_error(error.code, error.description)
        else:
            response = app.make_response(render_template("error.html", code=error.code, message=error.description))
            status = error.code
        for name, value in error.get_headers():  # e.g. Allow on a 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected_error(error):
        # Logged with its traceback for us; the client learns only that it failed.
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        generic = InternalServerError.description
        if wants_json():
            return json_error(500, "internal error; it has been logged")
        return render_template("error.html", code=500, message=generic), 500
