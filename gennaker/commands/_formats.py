"""How a command prints its answer: ``--output table`` for people, ``json`` or ``yaml`` for scripts.

Kept apart from the gateway client so that commands which call no gateway (``config``, ``dlq`` on
RabbitMQ) print structured output without importing an HTTP client.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

OUTPUT_FORMATS = ("table", "json", "yaml")


def output_option(parser: argparse.ArgumentParser, table: str = "aligned columns") -> None:
    """``-o/--output table|json|yaml`` on ``parser``; ``table`` says what the table mode shows."""
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help=f"table ({table}, the default), or json or yaml (the whole answer, for scripts)",
    )


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    print(json.dumps(value, indent=2))


def print_data(value: Any, output: str) -> None:
    """``value`` on stdout as ``output`` says: ``json`` (indented) or ``yaml`` (block style, keys in their order)."""
    if output == "yaml":
        import yaml

        print(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False), end="")
    else:
        print_json(value)
