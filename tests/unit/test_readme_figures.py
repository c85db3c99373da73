"""The README's figures table is what benchmarks/figures.py renders from benchmarks/figures.jsonl."""

from __future__ import annotations

import json

from benchmarks import figures


def test_the_readme_table_is_rendered_from_the_recorded_figures_not_typed() -> None:
    readme = figures.README.read_text()
    assert figures.rendered(readme) == readme, "run: .venv/bin/python benchmarks/figures.py render"


def test_every_recorded_line_names_its_command_date_and_figures() -> None:
    lines = [json.loads(line) for line in figures.FIGURES.read_text().splitlines() if line.strip()]
    assert lines, "no benchmark figures are recorded"
    for entry in lines:
        assert entry["command"].startswith("benchmarks/") and entry["date"][:2] == "20"
        assert figures.flattened(entry["figures"]), f"{entry['command']} recorded no figure"


def test_the_newest_line_of_a_command_wins_and_settings_are_not_figures() -> None:
    output = 'progress…\n{"benchmark": "x", "rounds": 3, "a": {"median_s": 0.5}, "b": [1, 2]}\n'
    found = figures.last_json_line(output)
    assert figures.flattened(found) == [("a.median_s", 0.5), ("b", "[1, 2]")]
    timed = {"run": {"median_s": 0.042, "spread_s": 0.0052}}
    assert figures.flattened(timed) == [("run", "median 42.0 ms (spread 5.2 ms)")]
    assert figures.shown(12345.6) == "12,346" and figures.shown(0.04213) == "0.04213" and figures.shown(7) == "7"
