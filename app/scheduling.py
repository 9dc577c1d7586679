"""Turns on the one model: classification first, explanations in the gaps, each kind behind its own bound.

The model is one shared resource (two cores gain nothing from two forward passes side by side, and fast
tokenizers are not safe to call from several threads at once), so every request takes *turns* on it: a slice of
its texts, or, for an explanation, a slice of its model passes. A turn is short, so a one-comment request waits
for at most the turn in progress and the classification turns queued before it — never for a whole explanation.
"""

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

CLASSIFY, EXPLAIN = 0, 1  # turn priorities: a waiting classification turn goes before an explanation's ...
EXPLAIN_EVERY = 4  # ... except after this many classification turns in a row: explanations still progress


class Busy(Exception):
    """The model cannot take this request now; the client should retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class ClientGone(Exception):
    """The client closed its connection: the rest of its request is not worth the model's time."""


@dataclass
class TurnTimes:
    """Where one request's time went, per lane: waiting for the model, on the model, and the pieces it scored (texts
    in the classification lane, model passes in the explanation lane). Filled by `Lane.turns`; read by the
    request's log line and the metrics, never shared between requests."""

    wait_seconds: dict = field(default_factory=dict)
    model_seconds: dict = field(default_factory=dict)
    items: dict = field(default_factory=dict)

    def add(self, lane: str, wait: float, model: float, items: int) -> None:
        self.wait_seconds[lane] = self.wait_seconds.get(lane, 0.0) + wait
        self.model_seconds[lane] = self.model_seconds.get(lane, 0.0) + model
        self.items[lane] = self.items.get(lane, 0) + items

    @property
    def total_wait(self) -> float:
        return sum(self.wait_seconds.values())

    @property
    def total_model(self) -> float:
        return sum(self.model_seconds.values())


class PriorityLock:
    """A lock granted in order (threading.Lock keeps none): within a priority in arrival order, so that a large
    request that gives the model back between turns queues behind the requests that arrived meanwhile and turns go
    round-robin; across priorities, classification turns first, but one explanation turn after `explain_every`
    classification turns in a row, so that a steady stream of small requests delays explanations without
    starving them (and costs each small request at most one explanation turn)."""

    def __init__(self, explain_every: int = EXPLAIN_EVERY):
        self._changed = threading.Condition()
        self._queues = (deque(), deque())
        self._held = False
        self._explain_every, self._classify_streak = explain_every, 0

    def _first_in_line(self):
        classify, explain = self._queues
        if explain and (not classify or self._classify_streak >= self._explain_every):
            return explain[0]
        return classify[0] if classify else None

    def acquire(self, timeout: float | None = None, priority: int = CLASSIFY) -> bool:
        with self._changed:
            ticket, queue = object(), self._queues[priority]
            queue.append(ticket)
            granted = self._changed.wait_for(lambda: not self._held and self._first_in_line() is ticket, timeout)
            if not granted:
                queue.remove(ticket)
                self._changed.notify_all()  # the next in line may be free to go now
                return False
            queue.popleft()
            self._held = True
            self._classify_streak = self._classify_streak + 1 if priority == CLASSIFY else 0
            return True

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()

    def locked(self) -> bool:
        return self._held

    def waiting(self) -> tuple[int, int]:
        """Turns queued now (classification, explanation); read without the lock, for the metrics."""
        return len(self._queues[CLASSIFY]), len(self._queues[EXPLAIN])

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


class Lane:
    """One kind of work on the model: how many requests of it may be admitted at once (the next is refused at
    once, not queued without bound), its turns' priority, how long a turn may wait, and each request's deadline."""

    def __init__(self, lock: PriorityLock, *, name: str, priority: int, max_admitted: int, wait_seconds: float,
                 deadline_seconds: float, retry_after: int = 1):  # fmt: skip
        self.lock, self.name, self.priority = lock, name, priority
        self.max_admitted, self.wait_seconds, self.deadline_seconds = max_admitted, wait_seconds, deadline_seconds
        self.retry_after = retry_after
        self._admitted = threading.BoundedSemaphore(max_admitted)
        # Requests holding a place now, for the metrics: written under a lock of its own, read by a scrape without
        # any (one int read; a scrape never waits on the model or on a request).
        self.admitted = 0
        self._count_lock = threading.Lock()

    def _count(self, by: int) -> None:
        with self._count_lock:
            self.admitted += by

    @contextmanager
    def admission(self):
        """A place in this lane for the whole request, or `Busy` at once when all are taken."""
        if not self._admitted.acquire(blocking=False):
            raise Busy(f"the server is busy ({self.max_admitted} {self.name} requests running); retry shortly",
                       self.retry_after)  # fmt: skip
        self._count(+1)
        try:
            yield
        finally:
            self._count(-1)
            self._admitted.release()

    def run(self, pieces: list, work, client_gone=lambda: False, times: TurnTimes | None = None) -> list:
        """`work(piece)` for each piece in its own turn, the results concatenated; `Busy` when the lane is full,
        a turn cannot start in time or the deadline passes; `ClientGone` when the client hung up. `times`, when
        given, collects the request's waiting and model seconds."""
        with self.admission():
            return self.turns(pieces, work, client_gone, times)

    def turns(self, pieces: list, work, client_gone=lambda: False, times: TurnTimes | None = None) -> list:
        """`run` for a request that already holds its place (`admission`)."""
        deadline, results = time.monotonic() + self.deadline_seconds, []
        for piece in pieces:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Busy(f"the {self.name} request ran past its {self.deadline_seconds:g} s deadline; send less",
                           self.retry_after)  # fmt: skip
            if client_gone():
                raise ClientGone
            asked = time.perf_counter()
            granted = self.lock.acquire(timeout=min(self.wait_seconds, left), priority=self.priority)
            started = time.perf_counter()
            if not granted:
                if times is not None:
                    times.add(self.name, started - asked, 0.0, 0)
                raise Busy(f"the model stayed busy for {min(self.wait_seconds, left):.3g} s; retry shortly",
                           self.retry_after)  # fmt: skip
            try:
                results += list(work(piece))
            finally:
                self.lock.release()
                if times is not None:
                    times.add(self.name, started - asked, time.perf_counter() - started, len(piece))
        return results
