"""Bounded load test of the production server on loopback; writes results/serving.json.

    python scripts/load_test.py                           # the shipped model, 60 s at concurrency 16
    python scripts/load_test.py --model outputs/student-odd --seconds 20 --concurrency 8
    python scripts/load_test.py --concurrency 64 --heavy-clients 1 --slow-connections 200 \
        --output results/serving_mixed.json            # the hostile mix: can one client starve the others?
    python scripts/load_test.py --concurrency 8 --explain-clients 32 --output results/serving_explain.json \
        --readme-section serving-explain               # explanations beside small requests
    python scripts/load_test.py --concurrency 64 --heavy-clients 1 --slow-connections 200 --seconds 20 \
        --ab-metrics 3 --output results/serving_metrics_ab.json   # what /metrics costs: off/on interleaved
    python scripts/load_test.py --concurrency 4 --long-text-clients 1 --output results/serving_long_texts.json \
        --readme-section serving-long-texts            # ten 20,000-character texts beside small requests

Starts `python -m app.serve` on a free 127.0.0.1 port, waits for /healthz, sends single-comment requests (real
test-split-free comments: the validation split) from N threads for a fixed time, then stops the server. With
metrics on (the server's default), /metrics is scraped once a second during the test, far more often than
Prometheus' usual 15 to 60 s, so that the scrapes' cost is in the numbers; `--no-metrics` serves without them.
`--ab-metrics K` runs K rounds of one test without metrics and one with (the order alternating from round to
round, so that a machine getting slower or faster favours neither) and writes both arms' medians and their ratio.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from research.report import replace_doc_section  # noqa: E402
from toxiclf.data.splits import TEXT_COLUMN, load_splits  # noqa: E402
from toxiclf.paths import RESULTS_DIR, SHIPPED_MODEL_DIR, shown_path  # noqa: E402
from toxiclf.provenance import cpu_name  # noqa: E402

MAX_SECONDS = 300  # hard cap, whatever is asked: this is a bounded test
MAX_CONCURRENCY = 64
MAX_AB_ROUNDS = 10  # off/on pairs; each runs two bounded tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            body = json.loads(response.read())
            if response.status == 200:
                return body
            raise SystemExit(f"error: the server has no model: {body.get('message')}")
        except (ConnectionError, OSError):
            time.sleep(0.5)
    raise SystemExit("error: the server did not become healthy in time")


HEAVY_TEXTS, HEAVY_CHARS = 256, 600  # a maximum-size request: 256 texts, 153,600 characters, under the budget


def heavy_worker(port, comments, stop_at, outcomes):
    """Sends maximum-size requests back to back, as a client that wants the model to itself."""
    texts = [(c * 20)[:HEAVY_CHARS] for c in comments[:HEAVY_TEXTS]]
    post_back_to_back(port, json.dumps({"texts": texts}), stop_at, outcomes, wait_when_told=False)


LONG_TEXTS, LONG_CHARS = 10, 20_000  # ten texts of the longest length a text may have (MAX_CHARS), 200,000 in all
# Runs without spaces of letters and look-alike digits: the text that once cost 2 s each in the normaliser
LONG_PATTERNS = ("y0uAre4n1d10tg0aw4y", "thanksforthefix", "a1b2c3d4e5f6g7h8")


def long_text_worker(port, comments, stop_at, outcomes):
    """Sends requests of ten 20,000-character texts back to back (within the documented limits), waiting as told
    after a 503."""
    texts = [(LONG_PATTERNS[k % len(LONG_PATTERNS)] * LONG_CHARS)[:LONG_CHARS] for k in range(LONG_TEXTS)]
    post_back_to_back(port, json.dumps({"texts": texts}), stop_at, outcomes, wait_when_told=True)


EXPLAIN_TEXTS, EXPLAIN_WORDS = 8, 45  # an explanation request near the pass budget: 8 × (45 + 1) = 368 passes


def explain_worker(port, comments, stop_at, outcomes):
    """Asks for explanations of 8 comments of 45 words back to back, waiting as told after a 503."""
    words = " ".join(comments[:200]).split()
    texts = [" ".join(words[k * EXPLAIN_WORDS : (k + 1) * EXPLAIN_WORDS]) for k in range(EXPLAIN_TEXTS)]
    post_back_to_back(port, json.dumps({"texts": texts, "explain": True}), stop_at, outcomes, wait_when_told=True)


def post_back_to_back(port, body: str, stop_at: float, outcomes: list, wait_when_told: bool) -> None:
    """POSTs `body` to the API until `stop_at`, a fresh connection each time, recording each status (or error)."""
    while time.time() < stop_at:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("POST", "/api/v1/classify", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            outcomes.append(response.status)
            if wait_when_told and response.status == 503:
                time.sleep(float(response.getheader("Retry-After", "1")))
        except (OSError, http.client.HTTPException) as error:
            outcomes.append(type(error).__name__)
        finally:
            connection.close()


def slow_connections(port, count, stop_at):
    """`count` connections that send their request line one byte every two seconds (slowloris)."""
    sockets = []
    for _ in range(count):
        try:
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    position = 0
    while time.time() < stop_at and sockets:
        for s in list(sockets):
            try:
                s.send(line[position % len(line) : position % len(line) + 1])
            except OSError:
                sockets.remove(s)
        position += 1
        time.sleep(2)
    for s in sockets:
        s.close()


def health_prober(port, stop_at, latencies):
    while time.time() < stop_at:
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            latencies.append((time.perf_counter() - started) * 1000)
        except (OSError, http.client.HTTPException):
            latencies.append(None)  # no answer within 10 s
        time.sleep(0.5)


def metrics_scraper(port, stop_at, scrapes, every: float = 1.0):
    """Scrapes /metrics every `every` seconds, as Prometheus would (more often), recording the status or error."""
    while time.time() < stop_at:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            response.read()
            scrapes.append(response.status)
        except (OSError, http.client.HTTPException) as error:
            scrapes.append(type(error).__name__)
        time.sleep(every)


def worker(port, comments, stop_at, latencies, errors, offset):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = offset
    while time.time() < stop_at:
        body = json.dumps({"text": comments[i % len(comments)]})
        i += 1
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/v1/classify", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
                if response.status == 503:  # a well-behaved client waits as told before it tries again
                    time.sleep(float(response.getheader("Retry-After", "1")))
                continue
        except (OSError, http.client.HTTPException) as error:
            errors.append(type(error).__name__)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - started) * 1000)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="model folder to serve")
    parser.add_argument("--backend", default="auto", help="auto, torch or onnx-int8")
    parser.add_argument("--seconds", type=float, default=60, help=f"test duration (at most {MAX_SECONDS})")
    parser.add_argument("--concurrency", type=int, default=16, help=f"client threads (at most {MAX_CONCURRENCY})")
    parser.add_argument("--server-threads", type=int, default=48, help="waitress worker threads")
    parser.add_argument("--switch-interval-ms", type=float, help="the server's --switch-interval-ms (default: its own)")
    parser.add_argument("--heavy-clients", type=int, default=0, help="clients sending maximum-size requests")
    parser.add_argument("--explain-clients", type=int, default=0, help="clients asking for explanations")
    long_help = f"clients sending {LONG_TEXTS} texts of {LONG_CHARS:,} characters without spaces"
    parser.add_argument("--long-text-clients", type=int, default=0, help=long_help)
    parser.add_argument("--readme-section", default="serving", help="markers (in the README or docs/) to write between")
    parser.add_argument("--slow-connections", type=int, default=0, help="connections trickling header bytes")
    parser.add_argument("--no-metrics", dest="metrics", action="store_false",
                        help="serve without /metrics (toxiclf-serve --no-metrics)")  # fmt: skip
    parser.add_argument("--ab-metrics", type=int, default=0, metavar="ROUNDS",
                        help=f"run ROUNDS rounds of metrics off / on, interleaved (at most {MAX_AB_ROUNDS}), and "
                        "write the medians and their ratio")  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "serving.json", help="where to write")
    parser.add_argument("--update-readme", action="store_true", help="regenerate the serving section (docs/serving.md)")
    args = parser.parse_args(argv)
    if args.ab_metrics and args.update_readme:
        parser.error("--ab-metrics writes its own file; --update-readme is for one test's table")
    if args.ab_metrics and not args.metrics:
        parser.error("--ab-metrics runs both arms; drop --no-metrics")
    if not 0 <= args.ab_metrics <= MAX_AB_ROUNDS:
        parser.error(f"--ab-metrics takes 1 to {MAX_AB_ROUNDS} rounds")
    return args


def run_load(args, comments, metrics: bool) -> dict:
    """One bounded test against a fresh server: the result dict (without the command)."""
    seconds, concurrency = min(args.seconds, MAX_SECONDS), min(args.concurrency, MAX_CONCURRENCY)
    port = free_port()
    # The server's log goes to a file: an unread pipe would fill up and block the server mid-test.
    server_log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.serve", "--model", str(args.model), "--backend", args.backend,
         "--port", str(port), "--threads", str(args.server_threads), *([] if metrics else ["--no-metrics"]),
         *(["--switch-interval-ms", str(args.switch_interval_ms)] if args.switch_interval_ms else [])],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=server_log,
    )  # fmt: skip
    try:
        try:
            health = wait_healthy(port)
        except SystemExit:
            server_log.seek(0)
            print(server_log.read()[-3000:], file=sys.stderr)  # why the server did not come up
            raise
        latencies, errors, heavy, explained, long_texts, health_ms, scrapes = [], [], [], [], [], [], []
        stop_at = time.time() + seconds
        threads = [
            threading.Thread(target=worker, args=(port, comments, stop_at, latencies, errors, k * 97))
            for k in range(concurrency)
        ]
        threads += [threading.Thread(target=heavy_worker, args=(port, comments, stop_at, heavy))
                    for _ in range(min(args.heavy_clients, 4))]  # fmt: skip
        threads += [threading.Thread(target=explain_worker, args=(port, comments, stop_at, explained))
                    for _ in range(min(args.explain_clients, 32))]  # fmt: skip
        threads += [threading.Thread(target=long_text_worker, args=(port, comments, stop_at, long_texts))
                    for _ in range(min(args.long_text_clients, 4))]  # fmt: skip
        if args.slow_connections:
            threads.append(threading.Thread(target=slow_connections,
                                            args=(port, min(args.slow_connections, 500), stop_at)))  # fmt: skip
        threads.append(threading.Thread(target=health_prober, args=(port, stop_at, health_ms)))
        if metrics:
            threads.append(threading.Thread(target=metrics_scraper, args=(port, stop_at, scrapes)))
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()

    ordered = sorted(latencies)
    return {
        "model": health["model"],
        "backend": health.get("backend"),
        "server": f"waitress, {args.server_threads} threads"
        + (f", switch interval {args.switch_interval_ms:g} ms" if args.switch_interval_ms else ""),
        "metrics": metrics,
        "seconds": round(elapsed, 1),
        "concurrency": concurrency,
        "requests_ok": len(latencies),
        "rejected_busy_503": sum(1 for e in errors if e == 503),  # deliberate: the queue was full
        "errors": sum(1 for e in errors if e != 503),
        "error_kinds": sorted({str(e) for e in errors if e != 503}),
        "heavy_clients": args.heavy_clients,
        "heavy_requests": {str(k): heavy.count(k) for k in sorted(set(heavy), key=str)},
        "explain_clients": args.explain_clients,
        "explain_requests": {str(k): explained.count(k) for k in sorted(set(explained), key=str)},
        "long_text_clients": args.long_text_clients,
        "long_text_requests": {str(k): long_texts.count(k) for k in sorted(set(long_texts), key=str)},
        "slow_connections": args.slow_connections,
        "metrics_scrapes": {str(k): scrapes.count(k) for k in sorted(set(scrapes), key=str)},
        "healthz_failures": sum(1 for h in health_ms if h is None),
        "healthz_ms_max": round(max(h for h in health_ms if h is not None), 1) if any(health_ms) else None,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms_p50": round(statistics.median(ordered), 1) if ordered else None,
        "latency_ms_p99": round(ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered else None,
        "comments": "first 2,000 of the validation split, one per request",
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count()},
    }


def metrics_ab(args, comments, rounds: int) -> dict:
    """`rounds` rounds of (metrics off, metrics on), the order alternating; the medians and on/off ratios."""
    runs = []
    for k in range(rounds):
        for metrics in (False, True) if k % 2 == 0 else (True, False):
            load_before = round(os.getloadavg()[0], 2)  # other work on the machine: what the arms share
            result = run_load(args, comments, metrics)
            runs.append({"round": k + 1, "metrics": metrics, "load_average_1m_before": load_before,
                         **{key: result[key] for key in AB_FIELDS}})  # fmt: skip
            print(f"round {k + 1}, metrics {'on' if metrics else 'off'}: {result['requests_per_s']} requests/s, "
                  f"p99 {result['latency_ms_p99']} ms", file=sys.stderr)  # fmt: skip
    arms = {}
    for name, metrics in (("off", False), ("on", True)):
        arm = [run for run in runs if run["metrics"] is metrics]
        arms[name] = {
            "requests_per_s_median": statistics.median(run["requests_per_s"] for run in arm),
            "latency_ms_p50_median": statistics.median(run["latency_ms_p50"] for run in arm),
            "latency_ms_p99_median": statistics.median(run["latency_ms_p99"] for run in arm),
        }
    ratio = arms["on"]["requests_per_s_median"] / arms["off"]["requests_per_s_median"]
    # Each round's own on/off ratio: how far one pair of minutes moves on this machine, i.e. the noise.
    per_round = {(run["round"], run["metrics"]): run["requests_per_s"] for run in runs}
    round_ratios = [round(per_round[k, True] / per_round[k, False], 3) for k in range(1, rounds + 1)]
    return {
        "question": "does serving /metrics (and scraping it every second) cost the hostile mix throughput?",
        "rounds": rounds,
        "seconds_per_run": min(args.seconds, MAX_SECONDS),
        "concurrency": min(args.concurrency, MAX_CONCURRENCY),
        "heavy_clients": args.heavy_clients,
        "slow_connections": args.slow_connections,
        "explain_clients": args.explain_clients,
        "off": arms["off"],
        "on": arms["on"],
        "throughput_ratio_on_over_off": round(ratio, 3),
        "round_ratios_on_over_off": round_ratios,
        "goal": "ratio >= 0.95",
        "goal_met": ratio >= 0.95,
        "runs": runs,
        "model": runs[0]["model"],
        "backend": runs[0]["backend"],
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count()},
    }


AB_FIELDS = ("model", "backend", "seconds", "requests_ok", "rejected_busy_503", "errors", "requests_per_s",
             "latency_ms_p50", "latency_ms_p99", "healthz_ms_max", "heavy_requests", "metrics_scrapes")  # fmt: skip


def main(argv=None):
    args = parse_args(argv)
    comments = load_splits()["validation"][TEXT_COLUMN][:2000]
    if args.ab_metrics:
        result = metrics_ab(args, comments, args.ab_metrics)
    else:
        result = run_load(args, comments, args.metrics)
    result["command"] = "python scripts/load_test.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if args.update_readme:
        shown = shown_path(args.output)
        replace_doc_section(args.readme_section, serving_markdown(result, shown))
    return result


def serving_markdown(r: dict, output: str) -> str:
    mix = f"{r['concurrency']} one-comment clients"
    if r.get("heavy_clients"):
        mix += f", {r['heavy_clients']} client(s) sending 256-text requests"
    if r.get("explain_clients"):
        done, retry = r["explain_requests"].get("200", 0), r["explain_requests"].get("503", 0)
        mix += (f", {r['explain_clients']} client(s) asking for explanations of {EXPLAIN_TEXTS} comments of "
                f"{EXPLAIN_WORDS} words ({done} explained, {retry} told to retry)")  # fmt: skip
    if r.get("long_text_clients"):
        done = r["long_text_requests"].get("200", 0)
        mix += (f", {r['long_text_clients']} client(s) sending {LONG_TEXTS} texts of {LONG_CHARS:,} characters "
                f"without spaces ({done} requests answered)")  # fmt: skip
    if r.get("slow_connections"):
        mix += f", {r['slow_connections']} slow-header connections"
    return (
        "| requests/s | p50 latency | p99 latency | errors | 503 busy | /healthz max | duration |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {r['requests_per_s']} | {r['latency_ms_p50']} ms | {r['latency_ms_p99']} ms | {r['errors']} | "
        f"{r.get('rejected_busy_503', 0)} | {r.get('healthz_ms_max')} ms | {r['seconds']} s |\n\n"
        f"Model `{r['model']}` ({r['backend']} backend), {r['server']}, {r['machine']['cores']} cores; {mix}. "
        f"Written by `{r['command'].strip()}` to `{output}`.\n"
    )


if __name__ == "__main__":
    main()
