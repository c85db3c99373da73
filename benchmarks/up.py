"""How long ``gennaker up`` takes to a healthy ``/health``, beside a bare aiohttp server's first answer.

Each round starts, one after the other in alternating order, ``gennaker up`` (in-process bus, the
embedded store in a data directory kept across rounds, as a user's restarts keep theirs) and the
baseline, a fresh interpreter serving ``/health`` with bare aiohttp: what any Python HTTP service
costs to start on this machine at this moment. Each is timed from spawning the process to the
first ``200`` from ``/health`` (for ``gennaker up``: every service UP), polled every 20 ms, then
stopped with SIGTERM. Beside the wall-clock time, the CPU time the process had used by then
(user + system, from /proc): on a machine shared with other work the wall clock mostly measures
the others, the CPU time what start-up itself costs. A first, uncounted round creates the store
and the bytecode caches: the children run without ``PYTHONDONTWRITEBYTECODE``, as an installed
Gennaker does (the image compiles its bytecode), so the figure is start-up, not compiling every
module from source. The medians, the spread (max - min) and the ratio to the baseline are
printed, then one JSON line.

    .venv/bin/python benchmarks/up.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from gennaker.host import free_port

ROOT = Path(__file__).resolve().parents[1]
GENNAKER = ROOT / ".venv" / "bin" / "gennaker"
DEADLINE = 120.0
BARE = """
import sys
from aiohttp import web
async def health(request):
    return web.json_response({"status": "UP"})
app = web.Application()
app.router.add_get("/health", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def healthy(url: str) -> bool:
    """Whether ``url`` answers 200 with status UP."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and bool(json.loads(response.read()).get("status") == "UP")
    except (OSError, ValueError):
        return False


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def to_health(argv: list[str], port: int, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning ``argv`` to its first healthy ``/health`` on ``port``, and the CPU
    seconds it used until then; it is then stopped."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not healthy(f"http://127.0.0.1:{port}/health"):
            if process.poll() is not None:
                raise SystemExit(f"{argv[0]} exited with status {process.returncode} before it was healthy")
            if time.perf_counter() - started > DEADLINE:
                raise SystemExit(f"{argv[0]} was not healthy within {DEADLINE:.0f} s")
            time.sleep(0.02)
        return time.perf_counter() - started, cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gennaker-up-bench-") as data_dir:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("GENNAKER_") and name != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(GENNAKER_DATA_DIR=data_dir, GENNAKER_LOG_LEVEL="WARNING")

        def gennaker_up() -> tuple[float, float]:
            port = free_port()
            return to_health([str(GENNAKER), "up"], port, {**env, "GENNAKER_GATEWAY_PORT": str(port)})

        def bare_aiohttp() -> tuple[float, float]:
            port = free_port()
            return to_health([sys.executable, "-c", BARE, str(port)], port, env)

        cases = {"bare aiohttp /health": bare_aiohttp, "gennaker up to /health": gennaker_up}
        gennaker_up()  # creates the store and the bytecode caches, uncounted
        bare_aiohttp()
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for round_ in range(options.rounds):
            for name in list(cases) if round_ % 2 == 0 else list(reversed(cases)):
                times[name].append(cases[name]())
    figures: dict[str, object] = {"benchmark": "up", "rounds": options.rounds}
    for index, unit in enumerate(("wall", "cpu")):
        baseline = statistics.median(wall_cpu[index] for wall_cpu in times["bare aiohttp /health"])
        for name, pairs in times.items():
            values = [pair[index] for pair in pairs]
            median, spread = statistics.median(values), max(values) - min(values)
            print(
                f"{name:<24} {unit:>4} median {median:6.2f} s  spread {spread:5.2f} s  "
                f"({median / baseline:.1f} x bare aiohttp)"
            )
            figures[f"{name} {unit}"] = {"median_s": round(median, 3), "spread_s": round(spread, 3)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
