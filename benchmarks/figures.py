"""The README's table of measured figures, regenerated from what the benchmarks printed, never typed by hand.

Every benchmark ends by printing one JSON object on its last line. ``record`` runs a benchmark and
appends that object to ``benchmarks/figures.jsonl`` with the date and the command; ``render`` rewrites
the README's table (between its ``figures:start`` / ``figures:end`` markers) from the newest line of
each command; ``check`` exits 1 when the README's table is not what ``render`` would write (a test
runs it, so a hand edit fails CI).

    .venv/bin/python benchmarks/figures.py record -- benchmarks/cli.py --rounds 9
    .venv/bin/python benchmarks/figures.py record --from-output run.log -- benchmarks/deck.py --rounds 3
    .venv/bin/python benchmarks/figures.py render
    .venv/bin/python benchmarks/figures.py check
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "benchmarks" / "figures.jsonl"
README = ROOT / "README.md"
START = "<!-- figures:start (benchmarks/figures.py render writes this table; do not edit it by hand) -->"
END = "<!-- figures:end -->"
SETTINGS_KEYS = {"benchmark", "rounds", "runs", "clients", "seconds", "pipelines", "messages", "bus"}
"""Keys that say how a benchmark ran rather than what it measured (shown in the command instead)."""


def last_json_line(output: str) -> dict[str, Any]:
    """The JSON object a benchmark printed last."""
    for line in reversed(output.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            found = json.loads(line)
            if isinstance(found, dict):
                return found
    raise SystemExit("the benchmark printed no JSON object on a line of its own")


def flattened(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted key, scalar)`` for every number, string or boolean in ``value``."""
    if isinstance(value, dict) and set(value) == {"median_s", "spread_s"}:
        median, spread = float(value["median_s"]), float(value["spread_s"])
        return [(prefix, f"median {median * 1000:,.1f} ms (spread {spread * 1000:,.1f} ms)")]
    if isinstance(value, dict):
        rows: list[tuple[str, Any]] = []
        for key, item in value.items():
            if not prefix and key in SETTINGS_KEYS:
                continue
            rows.extend(flattened(item, f"{prefix}{key}" if not prefix else f"{prefix}.{key}"))
        return rows
    if isinstance(value, list):
        return [(prefix, json.dumps(value))] if len(json.dumps(value)) <= 80 else []
    return [(prefix, value)]


def shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def entries() -> list[dict[str, Any]]:
    """The newest recorded line of each command, in the order the commands were first recorded."""
    newest: dict[str, dict[str, Any]] = {}
    for line in FIGURES.read_text().splitlines() if FIGURES.exists() else []:
        if line.strip():
            entry = json.loads(line)
            newest.pop(entry["command"], None)
            newest[entry["command"]] = entry
    return list(newest.values())


def table() -> str:
    """The README's figures table, from :func:`entries`."""
    lines = [START, "", "| command (measured on) | figure | value |", "|---|---|---|"]
    for entry in entries():
        first = True
        for key, value in flattened(entry["figures"]):
            where = f"`{entry['command']}` ({entry['date']})" if first else ""
            lines.append(f"| {where} | {key} | {shown(value)} |")
            first = False
    lines += ["", END]
    return "\n".join(lines)


def rendered(readme: str) -> str:
    """``readme`` with its figures table replaced by :func:`table`."""
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md has no {START!r} … {END!r} block")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return before + table() + after


def record(command: list[str], from_output: Path | None) -> None:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise SystemExit("record needs the benchmark to run: record -- benchmarks/cli.py --rounds 9")
    if from_output is not None:
        output = from_output.read_text()
    else:
        done = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, check=False)
        sys.stdout.write(done.stdout)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the benchmark exited {done.returncode}: nothing recorded")
        output = done.stdout
    entry = {
        "command": " ".join(command),
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "figures": last_json_line(output),
    }
    with FIGURES.open("a") as stream:
        stream.write(json.dumps(entry) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    recording = sub.add_parser("record", help="run a benchmark and keep the JSON it printed last")
    recording.add_argument("--from-output", type=Path, help="read a run's output from this file instead")
    recording.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("render", help="rewrite README.md's figures table")
    sub.add_parser("check", help="exit 1 when README.md's figures table is not what render writes")
    args = parser.parse_args()
    if args.verb == "record":
        record(args.command, args.from_output)
    readme = README.read_text()
    if args.verb in ("record", "render"):
        README.write_text(rendered(readme))
    elif rendered(readme) != readme:
        raise SystemExit(
            "README.md's figures table differs from benchmarks/figures.jsonl: run benchmarks/figures.py render"
        )


if __name__ == "__main__":
    main()
