"""Spinnaker's ``ExecutionStatus``: the statuses of executions, stages and tasks, and their rules.

``complete`` means nothing more will happen to the thing in that status; ``halt`` means it stops
the branch it is on. The values and both flags are Orca's, so exported pipelines and clients
reading execution JSON see what they expect.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """One of Spinnaker's execution statuses."""

    NOT_STARTED = "NOT_STARTED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED_CONTINUE = "FAILED_CONTINUE"
    TERMINAL = "TERMINAL"
    CANCELED = "CANCELED"
    STOPPED = "STOPPED"
    SKIPPED = "SKIPPED"
    BUFFERED = "BUFFERED"

    @property
    def complete(self) -> bool:
        """Finished: SUCCEEDED, FAILED_CONTINUE, TERMINAL, CANCELED, STOPPED or SKIPPED."""
        return self in _COMPLETE

    @property
    def halt(self) -> bool:
        """Stops its branch: TERMINAL, CANCELED or STOPPED."""
        return self in _HALT

    @property
    def lets_downstream_run(self) -> bool:
        """A requisite stage in this status lets the stages after it start (Orca's ``allUpstreamStagesComplete``)."""
        return self in _CONTINUABLE


_COMPLETE = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED_CONTINUE,
        ExecutionStatus.TERMINAL,
        ExecutionStatus.CANCELED,
        ExecutionStatus.STOPPED,
        ExecutionStatus.SKIPPED,
    }
)
_HALT = frozenset({ExecutionStatus.TERMINAL, ExecutionStatus.CANCELED, ExecutionStatus.STOPPED})
_CONTINUABLE = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED_CONTINUE, ExecutionStatus.SKIPPED})
