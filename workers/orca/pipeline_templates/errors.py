"""Why a templated pipeline cannot be rendered: one exception, answered as a refusal naming the field."""

from __future__ import annotations

from typing import Literal

Status = Literal[400, 403, 404]


class TemplateError(Exception):
    """The configuration (or the template it names) cannot be rendered; ``field`` names what to fix."""

    def __init__(self, reason: str, field: str | None = None, status: Status = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.status: Status = status
