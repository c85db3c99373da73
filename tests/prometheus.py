"""Debian's Prometheus for tests: started on a free port, scraping a local exporter every second.

``./dev test`` installs the ``prometheus`` package where it can (``PROMETHEUS`` names another
binary). :func:`start_prometheus` writes a one-job configuration, starts the server with its data
in a temporary directory, waits until it is ready and stops it (SIGTERM, then SIGKILL) on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from gennaker.host import free_port


def prometheus_binary() -> str:
    """The Prometheus server to run; a clear error when there is none."""
    binary = os.environ.get("PROMETHEUS") or shutil.which("prometheus")
    if not binary:
        raise RuntimeError(
            "Kayenta's tests need Prometheus: apt-get install -y prometheus (./dev test does it as root)"
        )
    return binary


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def start_prometheus(
    targets: Sequence[str], *, interval: str = "1s", labels: Mapping[str, Mapping[str, str]] | None = None
) -> Iterator[str]:
    """A running Prometheus scraping ``targets`` (``host:port``), each with its ``labels`` (as
    service discovery would attach them); yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gennaker-prometheus-") as directory:
        config = Path(directory) / "prometheus.yml"
        groups = "".join(
            f'      - targets: ["{target}"]\n        labels: {json.dumps(dict((labels or {}).get(target, {})))}\n'
            for target in targets
        )
        config.write_text(
            f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
            f"scrape_configs:\n  - job_name: app\n    static_configs:\n{groups}"
        )
        process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={directory}/data",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 15
            while not _ready(url):
                if process.poll() is not None:
                    raise RuntimeError(f"Prometheus exited with {process.returncode} before it was ready")
                if time.monotonic() > deadline:
                    raise RuntimeError("Prometheus was not ready after 15 s")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_samples(url: str, query: str, samples: int, *, timeout: float = 60) -> float:
    """Wait until ``query`` has ``samples`` scraped samples (Prometheus starts scraping ~5 s after it
    is ready); returns the time of the first sample."""
    deadline = time.monotonic() + timeout
    while True:
        params = urllib.parse.urlencode({"query": f"{query}[10m]"})
        with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=5) as response:
            result = json.loads(response.read())["data"]["result"]
        values = result[0]["values"] if result else []
        if len(values) >= samples:
            return float(values[0][0])
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prometheus had {len(values)} samples of {query} after {timeout:.0f} s")
        time.sleep(0.5)
