"""Production server (waitress): `python -m app.serve [--model DIR] [--host 127.0.0.1] [--port 8000]`."""

import argparse
import logging
import os

from waitress import serve

from toxiclf.classifier import BACKENDS

from . import create_app


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="model folder (default: $TOXICLF_MODEL, else the shipped model/)")
    parser.add_argument("--backend", choices=BACKENDS, help="inference backend (default: auto)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)), help="port")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    config = {key: value for key, value in (("MODEL_DIR", args.model), ("BACKEND", args.backend)) if value}
    app = create_app(config)
    logging.getLogger(__name__).info("Listening on http://%s:%d", args.host, args.port)
    serve(app, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
