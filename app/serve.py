"""Production server (waitress): `python -m app.serve [--model DIR] [--host 127.0.0.1] [--port 8000]`.

Logs are JSON lines on stderr (one per request: app/telemetry.py; `--log-format text` for people); Prometheus
metrics at /metrics unless `--no-metrics`; comment texts are logged only with `--log-texts`.

Limits set on purpose (README, "Serving"): bodies over the app's MAX_CONTENT_LENGTH are refused from their
Content-Length, before waitress buffers them; up to 1,000 open connections are held by the event loop without
a worker thread each, and a connection that sends nothing for 30 s is closed, so slow clients cannot take all
workers. SIGTERM (or SIGINT) stops accepting connections, lets the requests in flight finish within a grace
period, logs it, and exits.
"""

import _thread
import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time

from waitress.server import create_server

from toxiclf.inference.classifier import BACKENDS

from . import create_app, env_flag
from .telemetry import JsonFormatter

logger = logging.getLogger(__name__)

CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_SECONDS = 30
GRACE_SECONDS = 30
# Python lets a thread hold the interpreter for 5 ms before a waiting one may run. While one request's thread reads
# a 20,000-character text in Python (the disguise reading), /healthz and the small requests queue behind it in 5 ms
# slices; 1 ms slices let them through (the long-text load test: docs/serving.md).
SWITCH_INTERVAL_MS = 1.0


class InFlight:
    """WSGI middleware that counts requests between their start and the end of their response."""

    def __init__(self, app):
        self.app, self.count, self._lock = app, 0, threading.Lock()

    def _change(self, by: int) -> None:
        with self._lock:
            self.count += by

    def __call__(self, environ, start_response):
        self._change(+1)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._change(-1)
            raise
        return _CountedBody(body, lambda: self._change(-1))


class _CountedBody:
    def __init__(self, body, done):
        self.body, self.done = body, done

    def __iter__(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.done()


def stop_gracefully(server, in_flight: InFlight, grace_seconds: float):
    """A signal handler: close the listening sockets now, end the process when the requests in flight are done."""

    def handler(signum, frame):
        logger.info("%s: no new connections; finishing %d request(s) in flight (grace %g s)",
                    signal.Signals(signum).name, in_flight.count, grace_seconds)  # fmt: skip
        listeners = _listeners(server)
        for listener in listeners:
            listener.accepting = False
            listener.del_channel()  # out of the event loop's map from its next turn
            try:  # refuses new connections at once; the descriptor stays valid for the select() in progress
                listener.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        threading.Thread(target=_drain, args=(in_flight, grace_seconds, listeners), daemon=True).start()

    return handler


def _listeners(server):
    # A MultiSocketServer (several addresses) holds one listening server per socket in its map.
    from waitress.server import BaseWSGIServer

    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


def _drain(in_flight: InFlight, grace_seconds: float, listeners) -> None:
    deadline = time.monotonic() + grace_seconds
    while in_flight.count and time.monotonic() < deadline:
        time.sleep(0.05)
    if in_flight.count:
        logger.warning("Grace period over with %d request(s) still in flight; stopping", in_flight.count)
    else:
        logger.info("All requests in flight finished; stopping")
    time.sleep(0.5)  # let the event loop flush the last responses to their sockets
    for listener in listeners:
        listener.socket.close()
    _thread.interrupt_main(signal.SIGUSR1)  # the main thread's handler ends waitress's loop


def _end_loop(signum, frame):
    raise SystemExit(0)


def make_server(app, host: str, port: int, threads: int):
    """The production server for `app` (not yet running) and its in-flight count; the contract tests run this one."""
    in_flight = InFlight(app)
    server = create_server(
        in_flight, host=host, port=port, threads=threads,
        connection_limit=CONNECTION_LIMIT, channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
        # Keep reading a connection while its request runs, so that a client that hangs up is noticed and the
        # rest of its request is not scored (environ["waitress.client_disconnected"]).
        channel_request_lookahead=1,
    )  # fmt: skip
    return server, in_flight


def run(app, host: str, port: int, threads: int, grace_seconds: float = GRACE_SECONDS) -> None:
    server, in_flight = make_server(app, host, port, threads)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_gracefully(server, in_flight, grace_seconds))
    signal.signal(signal.SIGUSR1, _end_loop)
    logger.info("Listening on http://%s:%s", host, server.effective_port)  # waitress gives the port as a str
    server.run()  # returns when _end_loop raises SystemExit in it (waitress then joins its worker threads)
    logger.info("Stopped")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder or a shipped model by name: default, fast (default: "
                        "$TOXICLF_MODEL, else default)")  # fmt: skip
    parser.add_argument("--backend", choices=BACKENDS, help="inference backend (default: auto)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)), help="port (0: any free one)")
    # More threads than the model's queue (32 waiting): /healthz and the 503s of a full queue always find a thread.
    parser.add_argument("--threads", type=int, default=48, help="waitress worker threads")
    parser.add_argument("--switch-interval-ms", type=float, default=SWITCH_INTERVAL_MS, metavar="MS",
                        help="how long one Python thread may hold the interpreter before a waiting one runs "
                        f"(sys.setswitchinterval; default {SWITCH_INTERVAL_MS:g}, Python's own is 5)")  # fmt: skip
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS, help="seconds to finish requests on SIGTERM")
    parser.add_argument("--no-metrics", dest="metrics", action="store_false", default=None,
                        help="no /metrics and nothing counted (default: on, unless TOXICLF_METRICS=0)")  # fmt: skip
    parser.add_argument("--log-texts", action="store_true", default=None,
                        help="put the comments' texts in the request log lines (default: off, unless "
                        "TOXICLF_LOG_TEXTS=1); they are what people wrote: think before turning it on")  # fmt: skip
    parser.add_argument("--log-format", choices=("json", "text"), default="json",
                        help="json: one JSON object per line (default); text: for reading in a terminal")  # fmt: skip
    return parser.parse_args(argv)


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def main(argv=None):
    args = parse_args(argv)
    configure_logging(args.log_format)
    try:  # a mistyped TOXICLF_METRICS / TOXICLF_LOG_TEXTS is one line, not a traceback
        env_flag("TOXICLF_METRICS", True), env_flag("TOXICLF_LOG_TEXTS", False)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    settings = (("MODEL_DIR", args.model), ("BACKEND", args.backend), ("METRICS", args.metrics),
                ("LOG_TEXTS", args.log_texts))  # fmt: skip
    config = {key: value for key, value in settings if value is not None}
    if args.switch_interval_ms <= 0:
        raise SystemExit(f"error: --switch-interval-ms must be positive, got {args.switch_interval_ms}")
    sys.setswitchinterval(args.switch_interval_ms / 1000)
    run(create_app(config), args.host, args.port, args.threads, args.grace)


if __name__ == "__main__":
    main()
