"""The web UI's first load and its 200-stage execution view, beside baselines measured in the same run.

Starts ``gennaker up`` (embedded defaults, authentication off) on a temporary data directory,
creates 20 applications and starts a 200-stage pipeline (20 parallel branches of 10 stages),
canceling it once 20 stages have run, then
drives Debian's Chromium (``deck/e2e/bench.mjs``) through alternating rounds of:

* the first load of the UI (``/``, until the application list is on screen) beside the first load
  of the same gateway's Swagger UI (until its operations are on screen): time, bytes over the wire
  and requests, each from a fresh browser context (cold cache);
* the execution view: from the execution's JSON arriving to its 200-stage graph painted, beside the
  same JSON turned into 200 plain text rows in an empty page (the cost of the DOM alone).

Targets: first load ≤ 300 KB compressed; the 200-stage view renders in ≤ 200 ms. Medians are
printed; the last line is one JSON object.

    .venv/bin/python benchmarks/deck.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gennaker.host import free_port

ROOT = Path(__file__).resolve().parents[1]
DECK = ROOT / "deck"
Json = dict[str, Any]


def call(base: str, method: str, path: str, body: Json | None = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def until(probe: Any, what: str, timeout: float = 180.0) -> Any:
    """Call ``probe`` until it answers something true; a 504 (the gateway's query deadline passed while
    the embedded Orca is busy with the 200-stage execution) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except urllib.error.HTTPError as error:
            if error.code != 504:
                raise
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def bundle_sizes() -> dict[str, int]:
    """The first load's files as committed, raw and gzipped (what the gateway sends)."""
    page = (DECK / "dist" / "index.html").read_text()
    names = ["index.html", *re.findall(r'/deck/(assets/[^"]+)"', page)]
    raw = sum((DECK / "dist" / name).stat().st_size for name in names)
    compressed = sum(len(gzip.compress((DECK / "dist" / name).read_bytes(), 9)) for name in names)
    return {"files": len(names), "raw_bytes": raw, "gzip_bytes": compressed}


def big_pipeline(branches: int = 20, depth: int = 10) -> Json:
    stages = []
    for branch in range(branches):
        for step in range(depth):
            ref = f"{branch}-{step}"
            stages.append(
                {
                    "refId": ref,
                    "requisiteStageRefIds": [f"{branch}-{step - 1}"] if step else [],
                    "type": "wait",
                    "name": f"branch {branch} step {step}",
                    "waitTime": 0,
                }
            )
    return {"application": "bench0", "name": "two hundred stages", "stages": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None or not (DECK / "node_modules" / "playwright-core").is_dir():
        raise SystemExit("needs Node.js and the UI's npm packages: run `npm --prefix deck ci` (./dev test does)")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "GENNAKER_DATA_DIR": data_dir,
            "GENNAKER_GATEWAY_PORT": str(port),
            "GENNAKER_METRICS_PORT": "0",
        }
        env.pop("GENNAKER_AMQP_URL", None)
        env.pop("GENNAKER_MONGO_URL", None)
        env.pop("GENNAKER_SETTINGS_FILE", None)
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gennaker"), "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            until(lambda: _healthy(base), "gennaker up to be healthy", 120)
            for index in range(20):
                name = f"bench{index}"
                attributes = {"name": name, "email": f"{name}@example.com", "description": f"benchmark app {index}"}
                job = {"type": "createApplication", "application": attributes}
                call(base, "POST", "/tasks", {"application": name, "job": [job]})
            until(lambda: len(call(base, "GET", "/applications")) == 20, "20 applications")
            saved = call(base, "POST", "/pipelines", big_pipeline())
            ref = call(base, "POST", f"/pipelines/bench0/{saved['id']}", {})["ref"]
            # a finished 200-stage execution is what is measured: it is canceled once under way, unless
            # Orca has run all of it by then (409: a finished execution cannot be canceled)
            until(lambda: _stages_done(base, ref) >= 20, "20 stages of the 200-stage execution to run", 300)
            try:
                call(base, "PUT", f"{ref}/cancel?reason=benchmark", {})
            except urllib.error.HTTPError as refused:
                if refused.code != 409:
                    raise
            execution = until(lambda: _finished(base, ref), "the 200-stage execution to stop", 120)
            config = {"url": base + "/", "execution": execution["id"], "application": "bench0", "rounds": args.rounds}
            browser = subprocess.run(
                [node, str(DECK / "e2e" / "bench.mjs")],
                env={**os.environ, "DECK_BENCH": json.dumps(config)},
                capture_output=True,
                text=True,
                timeout=1200,
                check=False,
            )
            if browser.returncode != 0:
                raise SystemExit(f"the browser benchmark failed:\n{browser.stdout}\n{browser.stderr}")
            rounds: list[Json] = json.loads(browser.stdout.strip().splitlines()[-1])
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def median(*keys: str) -> float:
        values = []
        for figures in rounds:
            value: Any = figures
            for key in keys:
                value = value[key]
            values.append(float(value))
        return round(statistics.median(values), 1)

    sizes = bundle_sizes()
    figures = {
        "rounds": len(rounds),
        "deck_first_load_ms": median("deck", "ms"),
        "deck_first_load_wire_bytes": median("deck", "bytes"),
        "deck_first_load_requests": median("deck", "requests"),
        "deck_bundle_gzip_bytes": sizes["gzip_bytes"],
        "deck_bundle_raw_bytes": sizes["raw_bytes"],
        "swagger_first_load_ms": median("swagger", "ms"),
        "swagger_first_load_wire_bytes": median("swagger", "bytes"),
        "swagger_first_load_requests": median("swagger", "requests"),
        "execution_200_stages_render_ms": median("execution", "render"),
        "plain_list_200_rows_ms": median("plainList"),
    }
    figures["first_load_time_deck_over_swagger"] = round(
        figures["deck_first_load_ms"] / figures["swagger_first_load_ms"], 2
    )
    figures["render_over_plain_list"] = round(
        figures["execution_200_stages_render_ms"] / max(figures["plain_list_200_rows_ms"], 0.1), 1
    )
    lines = [
        ("UI first load, to the application list on screen (ms)", figures["deck_first_load_ms"]),
        ("  baseline: Swagger UI of the same gateway, to its operations (ms)", figures["swagger_first_load_ms"]),
        ("UI first load over the wire (bytes; goal <= 307,200)", figures["deck_first_load_wire_bytes"]),
        ("  the bundle itself, gzipped (bytes)", figures["deck_bundle_gzip_bytes"]),
        ("  baseline: Swagger UI over the wire (bytes)", figures["swagger_first_load_wire_bytes"]),
        ("execution view, 200 stages, JSON to painted (ms; goal <= 200)", figures["execution_200_stages_render_ms"]),
        ("  baseline: the same JSON as 200 plain rows (ms)", figures["plain_list_200_rows_ms"]),
    ]
    print(f"{'figure':68} {'median':>12}")
    for label, value in lines:
        print(f"{label:68} {value:>12,}")
    print(json.dumps(figures))


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as response:
            status: int = response.status
    except OSError:
        return False
    return status == 200


def _stages_done(base: str, ref: str) -> int:
    execution: Json = call(base, "GET", ref)
    return sum(1 for stage in execution["stages"] if stage["status"] == "SUCCEEDED")


def _finished(base: str, ref: str) -> Json | None:
    execution: Json = call(base, "GET", ref)
    return execution if execution["status"] in ("SUCCEEDED", "TERMINAL", "CANCELED") else None


if __name__ == "__main__":
    main()
