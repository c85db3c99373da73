"""The template repository's ``.dinghyignore``: files that are not modules, one regular expression a
line, matched anywhere in the path (Go's ``regexp.MatchString``), as Dinghy reads it."""

from __future__ import annotations

import re

import structlog

log = structlog.get_logger("gennaker.dinghy")

MAX_PATTERNS = 1000


def ignore_patterns(text: str | None) -> list[re.Pattern[str]]:
    """The patterns of a ``.dinghyignore`` (``None``: there is none); a line that does not compile is skipped."""
    patterns = []
    for line in (text or "").splitlines()[:MAX_PATTERNS]:
        if line:
            try:
                patterns.append(re.compile(line))
            except re.error:
                log.warning("a .dinghyignore pattern does not compile", pattern=line[:200])
    return patterns


def is_ignored(path: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(pattern.search(path) for pattern in patterns)
