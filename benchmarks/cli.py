"""How long the ``gennaker`` command takes to start, beside the interpreter starting and doing nothing.

Each round runs, one after another: ``python -c pass`` (the baseline: what any Python command
costs), ``gennaker --help``, each sub-command's ``--help`` named by ``--command`` (default
``pipeline``), ``gennaker config`` and ``gennaker application list`` to its answer from a stub
gateway in this process (a first request: settings, logging, the HTTP client, one GET), all
through the same interpreter of the virtual environment, so a loaded machine slows them alike.
A second baseline is a bare ``urllib`` GET of the same stub URL in a fresh interpreter: the
least a Python command making one request can cost. Rounds alternate their order; the medians
and the spread (max - min) are printed, then one JSON line with every figure. The commands run
without ``PYTHONDONTWRITEBYTECODE`` and a first, uncounted round writes the bytecode caches, as an
installed Gennaker has them.

    .venv/bin/python benchmarks/cli.py [--rounds 15] [--command pipeline --command dlq]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENNAKER = ROOT / ".venv" / "bin" / "gennaker"


def elapsed(argv: list[str]) -> float:
    """Seconds from starting ``argv`` to its exit; it must exit 0."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GENNAKER_") and name != "PYTHONDONTWRITEBYTECODE"
    }
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


class EmptyList(BaseHTTPRequestHandler):
    """A gateway that answers every GET with an empty JSON list (``no applications``)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--command", action="append", help="a sub-command whose --help to time (repeatable)")
    options = parser.parse_args()
    cases: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "gennaker --help": [str(GENNAKER), "--help"],
    }
    for command in options.command or ["pipeline"]:
        cases[f"gennaker {command} --help"] = [str(GENNAKER), command, "--help"]
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), EmptyList)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{gateway.server_address[1]}"
    fetch = f"import urllib.request; urllib.request.urlopen({endpoint + '/applications'!r}).read()"
    cases["bare urllib GET"] = [sys.executable, "-c", fetch]
    cases["gennaker config"] = [str(GENNAKER), "config"]
    cases["gennaker application list"] = [str(GENNAKER), "application", "list", "--gate-endpoint", endpoint]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for argv in cases.values():  # writes the bytecode caches, uncounted
        elapsed(argv)
    for round_ in range(options.rounds):
        order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
        for name in order:
            times[name].append(elapsed(cases[name]))
    baseline = statistics.median(times["python -c pass"])
    request = statistics.median(times["bare urllib GET"])
    figures: dict[str, object] = {"benchmark": "cli", "rounds": options.rounds}
    for name, values in times.items():
        median = statistics.median(values)
        spread = max(values) - min(values)
        ratio = median / baseline
        print(
            f"{name:<30} median {median * 1000:7.1f} ms  spread {spread * 1000:6.1f} ms  "
            f"({ratio:.1f} x python -c pass, {median / request:.1f} x bare urllib GET)"
        )
        figures[name] = {"median_s": round(median, 4), "spread_s": round(spread, 4)}
    gateway.shutdown()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
