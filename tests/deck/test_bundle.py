"""The committed UI bundle is what its sources build, type-checks, and stays within its budget.

``deck/dist`` is committed so ``gennaker up`` needs no Node.js; these tests rebuild it from
``deck/src`` with the locked Vite and fail when the committed files differ (run
``npm --prefix deck run build`` and commit ``deck/dist``), and run TypeScript's checker over the
sources. The first load (page, script and stylesheet, gzipped as the gateway sends them) must stay
under 300 KB.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from tests.deck.tools import DECK, node, packages

FIRST_LOAD_BUDGET = 300 * 1024


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node(), *args], cwd=DECK, capture_output=True, text=True, timeout=120, check=False)


def test_the_committed_bundle_is_what_the_sources_build(tmp_path: Path) -> None:
    modules = packages()
    vite = str(modules / "vite" / "bin" / "vite.js")
    built = _run(vite, "build", "--outDir", str(tmp_path / "dist"), "--emptyOutDir")
    assert built.returncode == 0, built.stdout + built.stderr
    fresh, committed = _files(tmp_path / "dist"), _files(DECK / "dist")
    assert sorted(fresh) == sorted(committed), (
        "deck/dist is not what deck/src builds: run `npm --prefix deck run build` and commit deck/dist"
    )
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"rebuild deck/dist (`npm --prefix deck run build`): {changed} differ"


def test_the_sources_type_check() -> None:
    checked = _run(str(packages() / "typescript" / "bin" / "tsc"), "--noEmit", "-p", ".")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_first_load_is_within_budget() -> None:
    files = _files(DECK / "dist")
    page = files["index.html"].decode()
    loaded = ["index.html", *(name for name in files if name.startswith("assets/") and f"/deck/{name}" in page)]
    assert any(name.endswith(".js") for name in loaded) and any(name.endswith(".css") for name in loaded)
    size = sum(len(gzip.compress(files[name], 9)) for name in loaded)
    assert size <= FIRST_LOAD_BUDGET, f"the first load is {size} bytes gzipped, over {FIRST_LOAD_BUDGET}"
