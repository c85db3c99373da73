"""No worker names another worker's MongoDB collections (DESIGN: each worker owns its collections).

Every collection is named ``<worker>_<what>`` (``orca_executions``, ``clouddriver_cache``…; Front50
builds its names from ``front50_`` and so is not seen by name). The
scan reads each worker package's string constants: a name with another worker's prefix is a
collection that worker owns, and nothing outside it may name it. This is the code-level half of the
rule; the database itself is still shared (see the report of issue 13 for a per-worker view).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

WORKERS = Path(__file__).resolve().parents[2] / "workers"


def worker_names() -> list[str]:
    return sorted(path.name for path in WORKERS.iterdir() if (path / "__init__.py").exists())


def collection_names(package: Path, owners: list[str]) -> list[tuple[str, str, str]]:
    """``(owner, collection, file)`` for every string constant in ``package`` shaped like a collection name."""
    shape = re.compile(rf"^({'|'.join(owners)})_[a-z0-9_]+$")
    found: list[tuple[str, str, str]] = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = shape.match(node.value)
                if match:
                    found.append((match.group(1), node.value, str(path.relative_to(package.parent))))
    return found


def test_every_collection_a_worker_names_is_its_own() -> None:
    owners = worker_names()
    named = {worker: collection_names(WORKERS / worker, owners) for worker in owners}
    foreign = [(worker, *item) for worker, items in named.items() for item in items if item[0] != worker]
    assert foreign == [], f"workers naming another worker's collections (worker, owner, collection, file): {foreign}"
    # the scan sees the collections the workers do own
    own = {collection for items in named.values() for _, collection, _ in items}
    assert {"orca_executions", "clouddriver_cache", "echo_cron_fires", "kayenta_executions"} <= own


def test_a_name_with_another_workers_prefix_is_found(tmp_path: Path) -> None:
    (tmp_path / "reader.py").write_text('COLLECTION = "orca_executions"\n')
    assert collection_names(tmp_path, ["orca", "echo"]) == [("orca", "orca_executions", f"{tmp_path.name}/reader.py")]
