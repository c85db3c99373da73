"""The API server's refusals, answered as Kubernetes ``Status`` objects."""

from __future__ import annotations

from schemas.json_types import Json


class ApiFailure(Exception):
    """A request the API server refuses: HTTP ``code`` with a ``Status`` of ``reason`` and ``message``."""

    def __init__(self, code: int, reason: str, message: str, details: Json | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> Json:
        """The ``Status`` body."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(plural: str, name: str) -> ApiFailure:
    """``404 NotFound``: ``deployments.apps "web" not found``."""
    return ApiFailure(404, "NotFound", f'{plural} "{name}" not found', {"name": name, "kind": plural})


def invalid(kind: str, name: str, causes: list[str]) -> ApiFailure:
    """``422 Invalid``: ``Deployment.apps "web" is invalid: <causes>``."""
    return ApiFailure(422, "Invalid", f'{kind} "{name}" is invalid: {", ".join(causes)}', {"name": name, "kind": kind})
