"""The soak benchmark's sums: percentiles, memory growth after the warm-up, and reading completions off the stream."""

from __future__ import annotations

import json

from benchmarks.soak_load import completed_execution
from benchmarks.soak_summary import MIB, growth, latency_figures, percentile


def test_percentiles_are_nearest_rank_and_empty_is_zero() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 51.0 and percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0
    assert latency_figures([0.001, 0.002, 0.003]) == {"requests": 3, "p50_ms": 2.0, "p99_ms": 3.0}


def test_flat_memory_with_one_spike_does_not_grow() -> None:
    samples = [(float(t), 100 * MIB) for t in range(30)]
    samples[20] = (20.0, 180 * MIB)  # one burst: the medians ignore it
    grew = growth(samples)
    assert grew.growth_mib == 0.0 and grew.max_mib == 180.0 and grew.samples == 30


def test_steady_growth_shows_in_the_thirds_and_the_slope() -> None:
    samples = [(float(t), 100 * MIB + t * MIB // 2) for t in range(0, 120, 2)]  # 0.5 MiB a second
    grew = growth(samples)
    assert 35 < grew.growth_mib < 45
    assert round(grew.slope_mib_per_min) == 30
    assert growth([(0.0, MIB), (1.0, 2 * MIB)]).growth_mib == 0.0  # too few samples to compare thirds
    assert growth([]).samples == 0


def test_a_completion_frame_names_its_execution_and_other_frames_none() -> None:
    kind = "io.gennaker.orca.execution.completed.v1"
    envelope = {
        "type": kind,
        "data": {"execution_id": "01X", "status": "SUCCEEDED"},
    }
    frame = {"id": "e1", "event": kind, "data": json.dumps(envelope)}
    assert completed_execution(frame) == "01X"
    started = {**frame, "event": "io.gennaker.orca.execution.started.v1"}
    assert completed_execution(started) is None
