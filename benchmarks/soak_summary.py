"""The soak benchmark's arithmetic, apart from its I/O so it can be checked on its own.

Latency percentiles per endpoint, and whether a process's resident memory still grows once the
system is warm: the samples taken after the warm-up are cut in thirds and the growth is the median
of the last third minus the median of the first (medians, so a garbage collection or one burst
does not decide it), beside the least-squares slope over the same samples.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIB = 1024 * 1024


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by the nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_figures(seconds: Sequence[float]) -> dict[str, float]:
    """``requests``, ``p50_ms`` and ``p99_ms`` of some request latencies given in seconds."""
    return {
        "requests": len(seconds),
        "p50_ms": round(percentile(seconds, 0.5) * 1000, 1),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
    }


@dataclass(frozen=True)
class Growth:
    """How one process's resident memory moved after the warm-up, in MiB."""

    first_mib: float
    last_mib: float
    max_mib: float
    growth_mib: float
    """Median of the last third of the samples minus the median of the first third."""
    slope_mib_per_min: float
    """Least-squares slope over the same samples."""
    samples: int

    def figures(self) -> dict[str, float]:
        """The growth as the JSON line shows it."""
        return {
            "first_mib": round(self.first_mib, 1),
            "last_mib": round(self.last_mib, 1),
            "max_mib": round(self.max_mib, 1),
            "growth_mib": round(self.growth_mib, 1),
            "slope_mib_per_min": round(self.slope_mib_per_min, 2),
        }


def growth(samples: Sequence[tuple[float, int]]) -> Growth:
    """The growth of ``(seconds, rss bytes)`` samples, all taken after the warm-up.

    Fewer than three samples give no thirds to compare: growth and slope are then 0.
    """
    if not samples:
        return Growth(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    mib = [rss / MIB for _, rss in samples]
    third = len(samples) // 3
    if third == 0:
        return Growth(mib[0], mib[-1], max(mib), 0.0, 0.0, len(samples))
    change = statistics.median(mib[-third:]) - statistics.median(mib[:third])
    times = [at for at, _ in samples]
    mean_time, mean_mib = statistics.fmean(times), statistics.fmean(mib)
    spread = sum((at - mean_time) ** 2 for at in times)
    slope = sum((at - mean_time) * (m - mean_mib) for at, m in zip(times, mib, strict=True)) / spread if spread else 0.0
    return Growth(mib[0], mib[-1], max(mib), change, slope * 60, len(samples))
