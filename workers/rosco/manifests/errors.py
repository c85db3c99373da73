"""The one failure a bake reports: what was wrong, in words a pipeline author can act on."""

from __future__ import annotations


class BakeFailed(Exception):
    """A bake that cannot produce its artifact; the message is the stage's error."""
