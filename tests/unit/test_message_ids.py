"""Message ids are ULIDs: 26 Crockford base32 digits naming the millisecond, ascending within one."""

from __future__ import annotations

import time

from ulid import ULID

from bus.envelope import new_id


def test_ids_are_ulids_of_now_that_ascend_and_never_repeat() -> None:
    before = time.time()
    ids = [new_id() for _ in range(20_000)]
    after = time.time()
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for value in (ids[0], ids[len(ids) // 2], ids[-1]):
        parsed = ULID.from_str(value)
        assert str(parsed) == value and len(value) == 26
        assert before - 0.002 <= parsed.timestamp <= after + 0.002
