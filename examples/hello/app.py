"""A tiny HTTP app to deploy with the ``local`` provider: ``/`` says its version, ``/health`` its health.

Run: ``python examples/hello/app.py --port 8000`` (or with ``PORT`` set). ``HELLO_VERSION`` (or
``--version``) is the version it reports; ``HELLO_FAIL_HEALTH=1`` (or ``--fail-health``) makes
``/health`` answer 500, a version that "fails its health check". ``HELLO_DELAY_MS`` slows every
answer to ``/`` down (to have requests in flight while a deploy drains them) and
``HELLO_START_DELAY_MS`` its start (a deploy that takes a while); ``HELLO_ERROR_RATE`` (0 to 1)
makes that share of the answers to ``/`` a 500, evenly spread (a canary with errors). ``/metrics``
is Prometheus's text format: ``hello_requests_total{code}`` and the summary
``hello_request_duration_seconds`` (``_sum``, ``_count``) of the answers to ``/``. SIGTERM stops it
at once (the load balancer drains requests in flight to an instance before Clouddriver stops it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description="hello: a deployable example app")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--version", default=os.environ.get("HELLO_VERSION", "v1"))
    parser.add_argument("--fail-health", action="store_true", default=os.environ.get("HELLO_FAIL_HEALTH") == "1")
    arguments = parser.parse_args()
    delay = float(os.environ.get("HELLO_DELAY_MS", "0")) / 1000
    error_rate = min(1.0, max(0.0, float(os.environ.get("HELLO_ERROR_RATE", "0") or 0)))
    time.sleep(float(os.environ.get("HELLO_START_DELAY_MS", "0")) / 1000)
    metrics = Metrics()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path == "/health":
                healthy = not arguments.fail_health
                self._send(200 if healthy else 500, {"status": "UP" if healthy else "DOWN"})
                return
            if self.path == "/metrics":
                self._send_text(metrics.exposition())
                return
            started = time.perf_counter()
            if delay:
                time.sleep(delay)
            failing = metrics.next_fails(error_rate)
            body: dict[str, object] = {"app": "hello", "version": arguments.version, "pid": os.getpid()}
            self._send(500 if failing else 200, {**body, "error": "injected"} if failing else body)
            metrics.observe(500 if failing else 200, time.perf_counter() - started)

        def _send_text(self, text: str) -> None:
            payload = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler)
    # idle keep-alive connections (health checkers, proxies) must not hold the exit up; the load
    # balancer drains requests in flight before an instance is stopped
    server.daemon_threads = True
    server.block_on_close = False

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"hello {arguments.version} on 127.0.0.1:{arguments.port}", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


class Metrics:
    """What ``/metrics`` shows, counted across the server's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = {200: 0, 500: 0}
        self.duration_sum = 0.0
        self.started = 0

    def next_fails(self, rate: float) -> bool:
        """Whether the next answer is an injected error: ``rate`` of them, evenly spread."""
        with self.lock:
            self.started += 1
            return math.floor(self.started * rate) > math.floor((self.started - 1) * rate)

    def observe(self, code: int, seconds: float) -> None:
        with self.lock:
            self.requests[code] += 1
            self.duration_sum += seconds

    def exposition(self) -> str:
        with self.lock:
            lines = ["# TYPE hello_requests_total counter"]
            lines += [f'hello_requests_total{{code="{code}"}} {count}' for code, count in self.requests.items()]
            lines += [
                "# TYPE hello_request_duration_seconds summary",
                f"hello_request_duration_seconds_sum {self.duration_sum!r}",
                f"hello_request_duration_seconds_count {sum(self.requests.values())}",
            ]
        return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
