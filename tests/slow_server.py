"""A server whose model takes a second per request: `python tests/slow_server.py MODEL_DIR PORT` (for test_serve)."""

import dataclasses
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.serve import run  # noqa: E402

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app({"MODEL_DIR": sys.argv[1], "BACKEND": "torch"})
    model = app.extensions["toxiclf"]
    score = model.classifier.predict

    def slow_predict(texts, prepared=False):
        time.sleep(1.0)
        return score(texts, prepared)

    model.classifier.predict = slow_predict
    app.extensions["toxiclf"] = dataclasses.replace(model, max_waiting=64)  # lanes rebuilt with it
    run(app, "127.0.0.1", int(sys.argv[2]), threads=8, grace_seconds=10)
