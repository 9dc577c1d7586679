"""Prometheus metrics of the app (`GET /metrics`), in a registry of its own per app.

    curl -s localhost:8000/metrics            # the Prometheus text format; docs/serving.md has alert rules

Counters and histograms are updated by the request's own thread after its answer is built (app/telemetry.py);
the gauges (lanes, turns waiting, the flagged share) are read when Prometheus scrapes, from plain attributes, so
a scrape never takes the model's lock nor waits for a request. Each app has its own `CollectorRegistry`: several
apps in one process (the tests) do not share counts.
"""

import threading
from collections import deque

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily

__all__ = ["CONTENT_TYPE_LATEST", "FlaggedWindow", "ServingMetrics"]

# Seconds: a one-comment request takes milliseconds, a 256-text request or an explanation up to its 20 s / 10 s
# deadline; the buckets cover both ends.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
REFUSAL_REASONS = ("busy", "too_large", "invalid", "no_model")
LANES = ("classification", "explanation")


class FlaggedWindow:
    """The flagged share of the last `size` texts scored: the figure that moves first when the comments (or the
    model) drift. Writers take a small lock of their own; a scrape reads one tuple, without any lock."""

    def __init__(self, size: int):
        self.size = size
        self._flags = deque(maxlen=size)
        self._lock = threading.Lock()
        self.snapshot = (0, 0)  # (flagged, texts) in the window; replaced whole, so a reader sees a consistent pair

    def add(self, flags) -> None:
        with self._lock:
            flagged = self.snapshot[0]
            for flag in flags:
                if len(self._flags) == self.size:
                    flagged -= self._flags[0]  # the oldest leaves the window as this one enters
                self._flags.append(bool(flag))
                flagged += bool(flag)
            self.snapshot = (flagged, len(self._flags))


class _LiveGauges:
    """Gauges computed at scrape time from the served model's lanes and the flagged window."""

    def __init__(self, served, window: FlaggedWindow):
        self.served, self.window = served, window  # served(): the ServedModel now in app.extensions

    def describe(self):
        return []  # registered without describing: collect() runs at scrapes only

    def collect(self):
        model = self.served()
        lanes = GaugeMetricFamily("toxiclf_lane_requests", "Requests holding a place in a lane now, waiting for or "
                                  "on the model (classification: the queue depth; explanation: its occupancy)",
                                  labels=["lane"])  # fmt: skip
        capacity = GaugeMetricFamily("toxiclf_lane_capacity", "Requests a lane admits at once; the next gets 503",
                                     labels=["lane"])  # fmt: skip
        for lane in (model.classifying, model.explaining):
            lanes.add_metric([lane.name], lane.admitted)
            capacity.add_metric([lane.name], lane.max_admitted)
        waiting = GaugeMetricFamily("toxiclf_model_turns_waiting", "Model turns queued for the model now",
                                    labels=["lane"])  # fmt: skip
        for lane, count in zip(LANES, model.lock.waiting(), strict=True):
            waiting.add_metric([lane], count)
        flagged, texts = self.window.snapshot
        yield lanes
        yield capacity
        yield waiting
        if texts:  # absent before the first text: no share is not 0 %, and a NaN would poison avg_over_time
            yield GaugeMetricFamily("toxiclf_flagged_share", f"Share of the last {self.window.size} texts scored "
                                    "that were flagged", value=flagged / texts)  # fmt: skip
        yield GaugeMetricFamily("toxiclf_flagged_window_texts", "Texts in the flagged-share window (at most "
                                f"{self.window.size})", value=texts)  # fmt: skip


class ServingMetrics:
    """The app's metrics; `observe(...)` records one answered request."""

    def __init__(self, served, model_info: dict, window: int = 1000):
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("toxiclf_requests", "HTTP requests answered, by endpoint (the route) and status",
                                ["endpoint", "status"], registry=registry)  # fmt: skip
        self.duration = Histogram("toxiclf_request_duration_seconds", "Time from the request's arrival in the app "
                                  "to its answer, by endpoint", ["endpoint"], buckets=LATENCY_BUCKETS,
                                  registry=registry)  # fmt: skip
        self.queue_wait = Histogram("toxiclf_queue_wait_seconds", "Per request that used the model: time spent "
                                    "waiting for model turns, by lane", ["lane"], buckets=LATENCY_BUCKETS,
                                    registry=registry)  # fmt: skip
        self.model_time = Histogram("toxiclf_model_seconds", "Per request that used the model: time spent on the "
                                    "model, by lane", ["lane"], buckets=LATENCY_BUCKETS, registry=registry)  # fmt: skip
        self.texts = Counter("toxiclf_texts_scored", "Texts scored in answered requests", registry=registry)
        self.characters = Counter("toxiclf_characters_scored", "Characters of the texts scored", registry=registry)
        self.flagged = Counter("toxiclf_texts_flagged", "Texts scored at or above the threshold", registry=registry)
        self.passes = Counter("toxiclf_explanation_passes", "Model passes run for explanations (one per text and "
                              "one per word)", registry=registry)  # fmt: skip
        self.refusals = Counter("toxiclf_refusals", "Scoring requests refused, by reason: busy (503, retry), "
                                "too_large (413), invalid (400), no_model (503, none loaded)", ["reason"],
                                registry=registry)  # fmt: skip
        for reason in REFUSAL_REASONS:  # present at 0 from the start, so rate() works before the first refusal
            self.refusals.labels(reason)
        for lane in LANES:
            self.queue_wait.labels(lane)
            self.model_time.labels(lane)
        Info("toxiclf_model", "The model served: name, backend, threshold, the sha256 of its weights",
             registry=registry).info({key: str(value) for key, value in model_info.items()})  # fmt: skip
        self.window = FlaggedWindow(window)
        registry.register(_LiveGauges(served, self.window))
        # Children by label value, so that a request does not look them up under the metric's lock each time.
        self._children: dict = {}

    def _child(self, metric, *labels):
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, endpoint: str, status: int, seconds: float, record) -> None:
        """One answered request: its route, status, duration and what it did (a telemetry.RequestRecord)."""
        self._child(self.requests, endpoint, str(status)).inc()
        self._child(self.duration, endpoint).observe(seconds)
        for lane, wait in record.times.wait_seconds.items():
            self._child(self.queue_wait, lane).observe(wait)
            self._child(self.model_time, lane).observe(record.times.model_seconds[lane])
        passes = record.times.items.get("explanation", 0)
        if passes:
            self.passes.inc(passes)
        if record.refused:
            self._child(self.refusals, record.refused).inc()
        if record.flags is not None:  # scored and answered
            self.texts.inc(record.texts)
            self.characters.inc(record.characters)
            flagged = sum(record.flags)
            if flagged:
                self.flagged.inc(flagged)
            self.window.add(record.flags)

    def render(self) -> bytes:
        return generate_latest(self.registry)
