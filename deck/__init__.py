"""Gennaker's web UI as the gateway serves it: the built bundle in ``deck/dist``.

The sources are in ``deck/src`` (Preact and TypeScript, built by Vite from ``deck/package-lock.json``);
``npm --prefix deck ci && npm --prefix deck run build`` regenerates ``dist``, which is committed so
that ``gennaker up`` needs no Node.js. ``tests/deck/test_bundle.py`` rebuilds it and fails when the
committed bundle is not what the sources build.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def built() -> Traversable:
    """The directory holding ``index.html`` and ``assets/``."""
    return resources.files(__name__) / "dist"
