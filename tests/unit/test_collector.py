"""A started process hides start-up's objects from the garbage collector and collects young ones less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gennaker.collector import YOUNG_THRESHOLD, settle_after_start


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_after_start_every_live_object_is_frozen_and_young_collections_are_rarer() -> None:
    made_at_start = [[n] for n in range(1000)]
    gc.unfreeze()
    settle_after_start()
    assert gc.get_freeze_count() >= len(made_at_start)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD > 2_000
    frozen = gc.get_freeze_count()
    made_later = [[n] for n in range(1000)]
    assert gc.get_freeze_count() == frozen, "what is made later is collected as usual"
    assert all(gc.is_tracked(item) for item in made_later)
