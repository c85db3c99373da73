"""An operation's stageTimeoutMs is counted from when it started, also when another Clouddriver resumes it."""

from __future__ import annotations

import time

import pytest

from workers.clouddriver.runner import stage_deadline


def test_the_deadline_counts_from_the_operations_start_not_from_now() -> None:
    started_four_seconds_ago = time.time() - 4
    deadline = stage_deadline({"stageTimeoutMs": 10_000}, started_four_seconds_ago)
    assert deadline is not None
    assert deadline - time.monotonic() == pytest.approx(6, abs=0.2)  # a resumed operation has 6 s left, not 10


@pytest.mark.parametrize("timeout", [None, 0, -5, True, "300"])
def test_no_deadline_without_a_positive_stage_timeout(timeout: object) -> None:
    assert stage_deadline({"stageTimeoutMs": timeout}, time.time()) is None
