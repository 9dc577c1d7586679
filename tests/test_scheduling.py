"""Explanations cannot starve classification: their own bounded lane, short turns, lower priority, a deadline."""

import http.client
import json
import statistics
import threading
import time

import numpy as np
import pytest

from app.model import ServedModel
from app.scheduling import CLASSIFY, EXPLAIN, Busy, ClientGone, PriorityLock


class KeywordClassifier:
    """P(toxic) 0.9 with "idiot", else 0.1; every call recorded as (kind, number of texts)."""

    backend, threshold, calibration = "fake", 0.5, None

    def __init__(self, seconds_per_text: float = 0.0):
        self.calls, self.seconds_per_text = [], seconds_per_text

    def scores(self, texts):
        self.calls.append(("scores", len(texts)))
        time.sleep(self.seconds_per_text * len(texts))
        return np.array([0.9 if "idiot" in t else 0.1 for t in texts])

    def prepared(self, texts):  # the app reads a request's texts before it asks for the model
        return list(texts)

    def predict(self, texts, prepared=False):
        self.calls.append(("predict", len(texts)))
        time.sleep(self.seconds_per_text * len(texts))
        return [{"score": 0.5, "label": "non-toxic", "flagged": False} for _ in texts]


def granted_order(lock: PriorityLock, arrivals: list[tuple[str, int]]) -> list[str]:
    """The order in which waiters that queue one after the other, while `lock` is held, are granted it."""
    order = []

    def take(name, priority):
        lock.acquire(priority=priority)
        order.append(name)
        lock.release()

    threads = [threading.Thread(target=take, args=arrival) for arrival in arrivals]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # each one queues before the next starts
    lock.release()
    for thread in threads:
        thread.join(timeout=5)
    return order


def test_the_model_is_granted_in_arrival_order_within_a_priority():
    lock = PriorityLock()
    lock.acquire()
    assert granted_order(lock, [(name, CLASSIFY) for name in "abcde"]) == list("abcde")
    assert lock.acquire(timeout=0.1) and not lock.acquire(timeout=0.05)  # held: a second acquire times out
    lock.release()


def test_a_waiting_classification_turn_goes_before_explanation_turns_that_queued_earlier():
    lock = PriorityLock()
    lock.acquire()
    arrivals = [("explain-1", EXPLAIN), ("explain-2", EXPLAIN), ("classify-1", CLASSIFY), ("classify-2", CLASSIFY)]
    assert granted_order(lock, arrivals) == ["classify-1", "classify-2", "explain-1", "explain-2"]


def test_explanations_get_a_turn_after_a_run_of_classification_turns():
    lock = PriorityLock(explain_every=2)
    lock.acquire(priority=EXPLAIN)  # no classification turn yet
    arrivals = [("explain-1", EXPLAIN), ("classify-1", CLASSIFY), ("classify-2", CLASSIFY), ("classify-3", CLASSIFY)]
    assert granted_order(lock, arrivals) == ["classify-1", "classify-2", "explain-1", "classify-3"]


def test_an_explanation_is_cut_into_short_turns_by_passes_and_by_characters():
    model = ServedModel(KeywordClassifier(), name="fake", explain_slice_passes=8, explain_slice_chars=4_000)
    assert [len(turn) for turn in model._explain_turns(["short text"] * 20)] == [8, 8, 4]
    assert [len(turn) for turn in model._explain_turns(["x" * 1_500] * 5)] == [2, 2, 1]  # 3,000 characters a turn
    assert [len(turn) for turn in model._explain_turns(["x" * 9_000] * 2)] == [1, 1]  # a long text: one pass a turn


def test_a_classification_arriving_mid_explanation_is_served_at_the_next_turn():
    classifier = KeywordClassifier()
    model = ServedModel(classifier, name="fake", explain_slice_passes=4)
    scores, arrived = classifier.scores, threading.Event()

    def first_turn_lets_a_classification_queue(texts):
        if not arrived.is_set():
            threading.Thread(target=model.predict, args=(["hello"],)).start()
            while not model.lock._queues[CLASSIFY]:  # wait until it is queued for the model
                time.sleep(0.001)
            arrived.set()
        return scores(texts)

    classifier.scores = first_turn_lets_a_classification_queue
    [spans] = model.explain(["you idiot " * 8], max_words=400)  # 17 passes: turns of 4, 4, 4, 4, 1
    assert [s["text"] for s in spans if s["score"] > 0] == []  # "idiot" is 8 times there: no single word decides
    kinds = [kind for kind, _ in classifier.calls]
    assert kinds == ["scores", "predict", "scores", "scores", "scores", "scores"]
    assert [n for kind, n in classifier.calls if kind == "scores"] == [4, 4, 4, 4, 1]


def test_explanations_have_a_deadline_a_bounded_lane_and_stop_when_the_client_goes():
    classifier = KeywordClassifier(seconds_per_text=0.01)
    model = ServedModel(classifier, name="fake", explain_slice_passes=2, explain_deadline_seconds=0.1,
                        max_explaining=1)  # fmt: skip
    with pytest.raises(Busy, match="explanation request ran past its 0.1 s deadline"):
        model.explain(["one two three four five six seven eight nine ten eleven twelve"], max_words=400)
    assert not model.lock.locked()
    classifier.calls.clear()
    with pytest.raises(ClientGone):
        model.explain(["one two three four five"], max_words=400, client_gone=lambda: len(classifier.calls) >= 1)
    assert classifier.calls == [("scores", 2)]  # one turn, then it let go
    model.explaining._admitted.acquire()  # the one explanation place is taken
    with pytest.raises(Busy, match=r"busy \(1 explanation requests running\)") as busy:
        model.explain(["hello"], max_words=400)
    assert busy.value.retry_after == 2
    assert model.predict(["hello"])[0]["label"] == "non-toxic"  # classification has its own lane


@pytest.mark.slow
def test_small_requests_keep_their_latency_while_explanations_run(app):
    """8 clients sending one comment each, while 4 clients ask for explanations of 8 texts of 40 words back to
    back, on a model that takes 4 ms a text: small requests p50 < 200 ms and not one 503."""
    from waitress.server import create_server

    model = app.extensions["toxiclf"]
    model.classifier = KeywordClassifier(seconds_per_text=0.004)
    server = create_server(app, host="127.0.0.1", port=0, threads=48)
    threading.Thread(target=server.run, daemon=True).start()
    port, stop_at = server.effective_port, time.time() + 4
    small_ms, small_status, explain_status = [], [], []

    def post(body):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/v1/classify", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status

    def small_client():
        while time.time() < stop_at:
            started = time.perf_counter()
            small_status.append(post({"text": "thanks for the edit"}))
            small_ms.append((time.perf_counter() - started) * 1000)

    def explain_client():
        texts = [" ".join(["word"] * 39 + ["idiot"])] * 8  # 328 passes
        while time.time() < stop_at:
            explain_status.append(post({"texts": texts, "explain": True}))
            if explain_status[-1] == 503:
                time.sleep(0.2)

    threads = [threading.Thread(target=small_client) for _ in range(8)]
    threads += [threading.Thread(target=explain_client) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.close()
    assert 200 in explain_status  # explanations did run meanwhile (1.3 s of model time each)
    assert set(small_status) == {200} and statistics.median(small_ms) < 200
