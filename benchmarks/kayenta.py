"""Kayenta's judge time beside the bare statistics, and the sequential test beside Orca's classic rule.

1. Judge time: NetflixACAJudge-v1.0 over 100 metrics x 1,000 points each (goal: at most 1 s on
   this machine), alternating rounds with a baseline measured in the same run: the bare
   Mann-Whitney U statistic of the same series (one sort and rank sum per metric), which is the
   floor of any rank test. The judge's multiple is its root finding (about 3 roots x ~20 steps).
2. Sequential test on simulated canaries (3 metrics, AR(1) noise with phi 0.3, 10 intervals of 30
   samples): the share of healthy canaries stopped (false alarms; the test's alpha is 0.05) and
   the median interval at which a canary with one degraded metric is stopped, beside Orca's
   classic rule (fail at the first interval whose judge score is at or below marginal 50, and the
   same rule with the score below pass 75).

    .venv/bin/python benchmarks/kayenta.py [--rounds 5] [--canaries 200]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.kayenta.judge import judge  # noqa: E402
from workers.kayenta.judge.sequential import sequential_test  # noqa: E402

THRESHOLDS = {"pass": 75, "marginal": 50}


def judge_workload(metrics: int, points: int, rng: np.random.Generator) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    config = {"metrics": [{"name": f"m{i}", "groups": [f"g{i % 5}"]} for i in range(metrics)]}
    pairs = [
        {
            "name": f"m{i}",
            "values": {
                "control": rng.normal(100, 10, points).tolist(),
                "experiment": rng.normal(100 + (i % 3), 10, points).tolist(),
            },
        }
        for i in range(metrics)
    ]
    return config, pairs


def bare_statistics(pairs: list[dict[str, Any]]) -> None:
    for pair in pairs:
        x = np.asarray(pair["values"]["experiment"], dtype=np.float64)
        y = np.asarray(pair["values"]["control"], dtype=np.float64)
        combined = np.sort(np.concatenate((x, y)))
        below = np.searchsorted(combined, x, side="left")
        through = np.searchsorted(combined, x, side="right")
        float(np.sum((below + through + 1) / 2.0)) - x.size * (x.size + 1) / 2


def timed(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    noise = rng.normal(0, 1, n)
    out = np.empty(n)
    out[0] = noise[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + noise[i]
    return out


def simulate(rng: np.random.Generator, canaries: int, shift: float) -> dict[str, Any]:
    """Stop rates and median stopping interval of each rule over ``canaries`` simulated runs."""
    intervals, per, metrics = 10, 30, 3
    config = {
        "metrics": [
            {"name": f"m{i}", "groups": ["g"], "analysisConfigurations": {"canary": {"direction": "increase"}}}
            for i in range(metrics)
        ]
    }
    stops: dict[str, list[int]] = {"sequential": [], "classic_marginal": [], "classic_pass": []}
    for _ in range(canaries):
        n = intervals * per
        control = [100 + 10 * ar1(rng, n, 0.3) for _ in range(metrics)]
        experiment = [100 + 10 * ar1(rng, n, 0.3) + (shift if i == 0 else 0) for i in range(metrics)]
        first: dict[str, int | None] = dict.fromkeys(stops)
        for k in range(1, intervals + 1):
            pairs = [
                {"name": f"m{i}", "values": {"control": control[i][: k * per], "experiment": experiment[i][: k * per]}}
                for i in range(metrics)
            ]
            if first["sequential"] is None and sequential_test(config, pairs)["stop"]:
                first["sequential"] = k
            if first["classic_marginal"] is None or first["classic_pass"] is None:
                score = judge(config, THRESHOLDS, pairs)["score"]["score"]
                if first["classic_marginal"] is None and score <= THRESHOLDS["marginal"]:
                    first["classic_marginal"] = k
                if first["classic_pass"] is None and score < THRESHOLDS["pass"]:
                    first["classic_pass"] = k
        for rule, interval in first.items():
            if interval is not None:
                stops[rule].append(interval)
    return {
        rule: {"stopped": len(at) / canaries, "median_interval": statistics.median(at) if at else None}
        for rule, at in stops.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--canaries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)

    config, pairs = judge_workload(100, 1000, rng)
    judge(config, THRESHOLDS, pairs)  # warm up imports and caches
    judge_times, bare_times = [], []
    for _ in range(args.rounds):
        judge_times.append(timed(lambda: judge(config, THRESHOLDS, pairs)))
        bare_times.append(timed(lambda: bare_statistics(pairs)))
    judge_median, bare_median = statistics.median(judge_times), statistics.median(bare_times)
    print(f"judge, 100 metrics x 1,000 points: median {judge_median:.3f} s over {args.rounds} rounds (goal <= 1 s)")
    print(
        f"bare rank-sum statistics, same data: median {bare_median:.4f} s; "
        f"judge / bare = {judge_median / bare_median:.0f}x"
    )

    healthy = simulate(rng, args.canaries, 0.0)
    bad = {str(shift): simulate(rng, max(1, args.canaries // 2), shift) for shift in (5.0, 15.0)}
    print(f"healthy canaries stopped (false alarms, alpha 0.05), {args.canaries} runs of 10 intervals:")
    for rule, figures in healthy.items():
        print(f"  {rule:17} {figures['stopped']:.3f}")
    for shift, results in bad.items():
        print(f"one metric degraded by {float(shift) / 10:.1f} sd: share stopped, median interval of the stop")
        for rule, figures in results.items():
            print(f"  {rule:17} {figures['stopped']:.2f}  interval {figures['median_interval']}")
    print(
        json.dumps(
            {
                "judge_median_s": judge_median,
                "bare_median_s": bare_median,
                "healthy": healthy,
                "degraded": bad,
            }
        )
    )


if __name__ == "__main__":
    main()
