"""Where the UI's tests find Node.js, the UI's npm packages and Debian's Chromium.

``./dev test`` installs all three when they are missing (``npm ci`` in ``deck/``, ``apt-get install
chromium``); a test that still cannot find one fails with what to run, it never skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECK = ROOT / "deck"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def node() -> str:
    """The ``node`` executable."""
    found = shutil.which("node")
    assert found, "Node.js is needed for the UI's tests: install Node.js 20 or newer (Debian: apt-get install nodejs)"
    return found


def npm() -> str:
    """The ``npm`` executable."""
    found = shutil.which("npm")
    assert found, "npm is needed for the UI's tests: install it with Node.js"
    return found


def packages() -> Path:
    """``deck/node_modules``, installed from ``deck/package-lock.json``."""
    modules = DECK / "node_modules"
    assert (modules / "playwright-core").is_dir() and (modules / "vite").is_dir(), (
        "the UI's npm packages are missing: run `npm --prefix deck ci` (./dev test does)"
    )
    return modules


def chromium() -> str:
    """Debian's Chromium (``CHROMIUM`` to use another build)."""
    assert os.access(CHROMIUM, os.X_OK), (
        f"no Chromium at {CHROMIUM}: run `apt-get install -y chromium` (./dev test does) or set CHROMIUM"
    )
    return CHROMIUM
