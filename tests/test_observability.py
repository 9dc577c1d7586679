"""What an operator sees: Prometheus metrics that count what was sent (under concurrent load too), request ids,
and one JSON log line per request that never holds a comment unless the operator asks for it."""

import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.metrics import FlaggedWindow
from app.serve import parse_args
from app.telemetry import JsonFormatter


def samples(text: str) -> dict:
    """{(sample name, ((label, value), ...)): value} of a /metrics answer."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return samples(answer.get_data(as_text=True))


def requests_total(metrics: dict, endpoint: str, status: int) -> float:
    return metrics.get(("toxiclf_requests_total", (("endpoint", endpoint), ("status", str(status)))), 0.0)


def refusals(metrics: dict, reason: str) -> float:
    return metrics[("toxiclf_refusals_total", (("reason", reason),))]


def test_metrics_count_requests_texts_characters_and_refusals_by_reason(client):
    texts = ["you idiot", "thanks for the fix", "fine"]
    assert client.post("/api/v1/classify", json={"texts": texts}).status_code == 200
    assert client.post("/api/v1/classify", json={"text": "hello"}).status_code == 200
    assert client.post("/api/v1/classify", json={"text": " "}).status_code == 400
    assert client.post("/api/v1/classify", data="not json").status_code == 400
    assert client.post("/api/v1/classify", json={"texts": ["x"] * 257}).status_code == 413
    assert client.post("/", data={"text": "a page comment"}).status_code == 200
    assert client.get("/no/such/page").status_code == 404
    metrics = scrape(client)
    assert requests_total(metrics, "/api/v1/classify", 200) == 2
    assert requests_total(metrics, "/api/v1/classify", 400) == 2
    assert requests_total(metrics, "/api/v1/classify", 413) == 1
    assert requests_total(metrics, "/", 200) == 1
    assert requests_total(metrics, "other", 404) == 1  # unknown paths share one label: no unbounded series
    assert metrics[("toxiclf_texts_scored_total", ())] == 3 + 1 + 1
    characters = sum(map(len, texts)) + len("hello") + len("a page comment")
    assert metrics[("toxiclf_characters_scored_total", ())] == characters
    assert (refusals(metrics, "invalid"), refusals(metrics, "too_large"), refusals(metrics, "busy")) == (2, 1, 0)
    duration = ("toxiclf_request_duration_seconds_count", (("endpoint", "/api/v1/classify"),))
    assert metrics[duration] == 5
    # queue wait and model time apart, once per request that used the model (two API requests, one page)
    assert metrics[("toxiclf_queue_wait_seconds_count", (("lane", "classification"),))] == 3
    assert metrics[("toxiclf_model_seconds_count", (("lane", "classification"),))] == 3
    assert metrics[("toxiclf_model_seconds_sum", (("lane", "classification"),))] > 0


def test_explanations_count_their_model_passes(client):
    answer = client.post("/api/v1/classify", json={"text": "you are an idiot", "explain": True})
    assert answer.status_code == 200
    metrics = scrape(client)
    assert metrics[("toxiclf_explanation_passes_total", ())] == 4 + 1  # one per word and one for the text
    assert metrics[("toxiclf_model_seconds_count", (("lane", "explanation"),))] == 1


def test_a_full_queue_and_a_missing_model_are_counted_as_refusals(app, tmp_path):
    lane = app.extensions["toxiclf"].classifying
    lane._admitted = threading.BoundedSemaphore(1)
    lane._admitted.acquire()  # the queue is full
    client = app.test_client()
    assert client.post("/api/v1/classify", json={"text": "hello"}).status_code == 503
    assert refusals(scrape(client), "busy") == 1
    lane._admitted.release()
    empty = create_app({"TESTING": True, "MODEL_DIR": str(tmp_path)}).test_client()
    assert empty.post("/api/v1/classify", json={"text": "hi"}).status_code == 503
    metrics = scrape(empty)
    assert refusals(metrics, "no_model") == 1 and refusals(metrics, "busy") == 0
    info = next(labels for (name, labels) in metrics if name == "toxiclf_model_info")
    assert dict(info)["backend"] == "none"


def test_the_info_metric_names_the_model_backend_threshold_and_weights(app, client, tiny_classifier_dir):
    from toxiclf.paths import sha256_file

    (labels,) = [dict(labels) for (name, labels) in scrape(client) if name == "toxiclf_model_info"]
    classifier = app.extensions["toxiclf"].classifier
    assert labels["name"] == app.extensions["toxiclf"].name and labels["backend"] == "torch"
    assert float(labels["threshold"]) == classifier.threshold
    assert labels["weights_sha256"] == sha256_file(tiny_classifier_dir / "model.safetensors")


def test_the_flagged_share_covers_the_last_n_texts(tiny_classifier_dir):
    app = create_app({"TESTING": True, "MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch",
                      "FLAGGED_WINDOW": 4})  # fmt: skip
    client = app.test_client()
    classifier = app.extensions["toxiclf"].classifier
    assert ("toxiclf_flagged_share", ()) not in scrape(client)  # no share before the first text
    classifier.threshold = 0.0  # every text flagged
    client.post("/api/v1/classify", json={"texts": ["a", "b", "c"]})
    classifier.threshold = 1.0  # none flagged
    client.post("/api/v1/classify", json={"texts": ["d", "e"]})
    metrics = scrape(client)
    assert metrics[("toxiclf_flagged_share", ())] == pytest.approx(2 / 4)  # b, c flagged; a left the window
    assert metrics[("toxiclf_flagged_window_texts", ())] == 4 and metrics[("toxiclf_texts_flagged_total", ())] == 3


def test_the_flagged_window_counts_what_leaves_it():
    window = FlaggedWindow(3)
    window.add([True, True, False])
    window.add([False])
    assert window.snapshot == (1, 3)
    window.add([True] * 10)
    assert window.snapshot == (3, 3)


def test_two_apps_in_one_process_keep_their_own_counts(tiny_classifier_dir):
    first, second = (create_app({"TESTING": True, "MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch"})
                     for _ in range(2))  # fmt: skip
    first.test_client().post("/api/v1/classify", json={"text": "one"})
    assert requests_total(scrape(first.test_client()), "/api/v1/classify", 200) == 1
    assert requests_total(scrape(second.test_client()), "/api/v1/classify", 200) == 0


def test_a_scrape_does_not_wait_for_the_model(app, client):
    model = app.extensions["toxiclf"]
    model.lock.acquire()  # a long turn in progress
    try:
        waiting = threading.Thread(target=lambda: app.test_client().post("/api/v1/classify", json={"text": "hi"}))
        waiting.start()
        for _ in range(100):  # until the request has queued its turn
            if model.lock.waiting()[0]:
                break
            time.sleep(0.01)
        started = time.perf_counter()
        metrics = scrape(client)
        assert time.perf_counter() - started < 1.0
        assert metrics[("toxiclf_lane_requests", (("lane", "classification"),))] == 1  # the queue depth
        assert metrics[("toxiclf_model_turns_waiting", (("lane", "classification"),))] == 1
        assert metrics[("toxiclf_lane_capacity", (("lane", "explanation"),))] == model.max_explaining
    finally:
        model.lock.release()
    waiting.join(timeout=10)
    assert scrape(client)[("toxiclf_lane_requests", (("lane", "classification"),))] == 0


THREADS, REQUESTS_EACH = 8, 25


def test_counts_equal_the_requests_sent_by_concurrent_clients_to_waitress(live_server):
    """N threads each send M requests to the production server (waitress, 8 worker threads) while /metrics is
    scraped over and over; the counters then equal N*M exactly."""
    statuses, stop_scraping, scrapes = [], threading.Event(), []

    def client(k):
        for i in range(REQUESTS_EACH):
            request = urllib.request.Request(f"{live_server}/api/v1/classify", method="POST",
                                             data=json.dumps({"texts": [f"comment {k} {i}", "ok"]}).encode(),
                                             headers={"Content-Type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    statuses.append(answer.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)

    def scraper():
        while not stop_scraping.is_set():
            with urllib.request.urlopen(f"{live_server}/metrics", timeout=30) as answer:
                scrapes.append(answer.status)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(THREADS)]
    watcher = threading.Thread(target=scraper)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stop_scraping.set()
    watcher.join(timeout=30)
    assert statuses == [200] * (THREADS * REQUESTS_EACH) and scrapes and set(scrapes) == {200}
    with urllib.request.urlopen(f"{live_server}/metrics", timeout=30) as answer:
        metrics = samples(answer.read().decode())
    sent = THREADS * REQUESTS_EACH
    assert requests_total(metrics, "/api/v1/classify", 200) == sent
    assert metrics[("toxiclf_texts_scored_total", ())] == 2 * sent
    assert metrics[("toxiclf_request_duration_seconds_count", (("endpoint", "/api/v1/classify"),))] == sent
    assert metrics[("toxiclf_queue_wait_seconds_count", (("lane", "classification"),))] == sent
    assert metrics[("toxiclf_flagged_window_texts", ())] == min(2 * sent, 1000)
    assert requests_total(metrics, "/metrics", 200) == len(scrapes)  # this scrape is counted after its answer


def test_metrics_can_be_turned_off(tiny_classifier_dir, monkeypatch):
    off = create_app({"TESTING": True, "MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch", "METRICS": False})
    client = off.test_client()
    assert client.post("/api/v1/classify", json={"text": "hi"}).status_code == 200
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("TOXICLF_METRICS", "0")
    env_off = create_app({"TESTING": True, "MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch"})
    assert env_off.extensions["toxiclf_metrics"] is None
    assert parse_args(["--no-metrics"]).metrics is False and parse_args([]).metrics is None


def test_a_mistyped_switch_is_one_line(monkeypatch):
    from app.serve import main

    monkeypatch.setenv("TOXICLF_METRICS", "maybe")
    with pytest.raises(SystemExit, match=r"^error: TOXICLF_METRICS='maybe': use 1 or 0$"):
        main(["--port", "0"])


def test_the_server_shortens_the_interpreter_switch_interval_and_refuses_a_bad_one(monkeypatch):
    from app import serve

    assert serve.parse_args([]).switch_interval_ms == 1.0
    with pytest.raises(SystemExit, match=r"^error: --switch-interval-ms must be positive, got 0.0$"):
        serve.main(["--port", "0", "--switch-interval-ms", "0"])
    ran, before = [], sys.getswitchinterval()
    monkeypatch.setattr(serve, "run", lambda *args: ran.append(sys.getswitchinterval()))
    monkeypatch.setattr(serve, "create_app", lambda config: None)
    try:
        serve.main(["--port", "0", "--switch-interval-ms", "2"])
    finally:
        sys.setswitchinterval(before)
    assert ran == [0.002]


@pytest.mark.parametrize(
    "sent, echoed",
    [
        ("client-42.a:b/c+d=e@f", True),
        ("", False),
        ("x" * 129, False),  # too long
        ("two words", False),  # not a plain token: could forge fields in a log line
        ("ümlaut", False),
    ],
)
def test_the_request_id_is_echoed_when_it_is_a_plain_token_else_made(client, sent, echoed):
    answer = client.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8").decode("latin-1")})
    given = answer.headers["X-Request-ID"]
    if echoed:
        assert given == sent
    else:
        assert given != sent and len(given) == 32 and int(given, 16) >= 0  # a fresh uuid4, in hex
    assert client.get("/nope").headers["X-Request-ID"]  # errors carry one too


@pytest.fixture
def request_log(app):
    """The JSON lines the request logger writes while the test runs."""
    lines = []

    class Lines(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(self.format(record)))

    handler = Lines()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app.telemetry")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


SECRET_COMMENT = "my neighbour Alice is an idiot"


def test_one_json_line_per_request_with_its_id_and_no_comment_text(client, request_log):
    answer = client.post("/api/v1/classify", json={"texts": [SECRET_COMMENT, "ok"]}, headers={"X-Request-ID": "r-1"})
    client.post("/api/v1/classify", json={"text": "x" * 20_001})
    assert answer.status_code == 200
    ok, refused = request_log
    assert ok["event"] == "request" and ok["request_id"] == "r-1" and ok["endpoint"] == "/api/v1/classify"
    assert (ok["status"], ok["texts"], ok["characters"], ok["refused"]) == (200, 2, len(SECRET_COMMENT) + 2, None)
    assert ok["model_ms"] > 0 and ok["queue_ms"] >= 0 and ok["duration_ms"] >= ok["model_ms"]
    assert (refused["status"], refused["refused"]) == (400, "invalid")
    assert "Alice" not in json.dumps(request_log) and "texts_content" not in ok


def test_the_comment_text_is_logged_only_when_the_operator_turns_it_on(tiny_classifier_dir, request_log):
    app = create_app({"TESTING": True, "MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch", "LOG_TEXTS": True})
    app.test_client().post("/api/v1/classify", json={"text": SECRET_COMMENT})
    assert request_log[-1]["texts_content"] == [SECRET_COMMENT]


def test_a_traceback_stays_on_one_json_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("app.errors", logging.ERROR, __file__, 1, "Unhandled error on %s", ("/x",),
                                   exc_info=__import__("sys").exc_info())  # fmt: skip
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "Unhandled error on /x" and "RuntimeError: boom" in parsed["exception"]
