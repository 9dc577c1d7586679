"""The production server under signals and hostile clients, on loopback, bounded in time."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def slow_server(tiny_classifier_dir):
    port = free_port()
    process = subprocess.Popen([sys.executable, str(TESTS / "slow_server.py"), str(tiny_classifier_dir), str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    # Starting takes 15 s on 2 cores shared with a training run (torch's import, mostly), more beside a second test
    # worker: wait up to 90 s, and say so if it never came up rather than fail later on a refused connection.
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"the test server did not come up: {process.communicate(timeout=10)[0][-2000:]}")
            time.sleep(0.1)
    yield process, url
    process.kill()


def post(url, payload, results):
    request = urllib.request.Request(f"{url}/api/v1/classify", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            results.append(answer.status)
    except urllib.error.HTTPError as error:
        results.append(error.code)
    except OSError as error:
        results.append(repr(error))


def test_sigterm_finishes_the_requests_in_flight_then_exits(slow_server):
    process, url = slow_server
    results = []
    clients = [threading.Thread(target=post, args=(url, {"text": f"comment {i}"}, results)) for i in range(5)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # all five are in flight: each takes a second, one at a time on the model
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/healthz", timeout=2)  # no new connections once stopping
    for client in clients:
        client.join(timeout=30)
    log = process.communicate(timeout=30)[0]
    assert results == [200] * 5, log
    assert process.returncode == 0
    assert "SIGTERM: no new connections; finishing 5 request(s)" in log and "All requests in flight finished" in log


def test_a_body_over_the_limit_is_refused_from_its_content_length(slow_server):
    _, url = slow_server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"POST /api/v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000000000\r\n\r\n{")  # fmt: skip
        answer = connection.recv(200).decode()
    assert answer.startswith("HTTP/1.1 413")  # answered without waiting for a gigabyte


@pytest.mark.slow
def test_the_load_test_reports_the_hostile_mix(tmp_path, tiny_classifier_dir):
    output = tmp_path / "serving_mixed.json"
    subprocess.run([sys.executable, "scripts/load_test.py", "--model", str(tiny_classifier_dir), "--backend", "torch",
                    "--seconds", "4", "--concurrency", "4", "--heavy-clients", "1", "--slow-connections", "20",
                    "--explain-clients", "2", "--output", str(output)],
                   cwd=TESTS.parent, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    result = json.loads(output.read_text())
    assert result["requests_ok"] > 0 and result["errors"] == 0 and result["healthz_failures"] == 0
    assert sum(result["heavy_requests"].values()) >= 1 and result["slow_connections"] == 20
    assert result["explain_clients"] == 2 and sum(result["explain_requests"].values()) >= 1
