"""The sequential test: its ratio against a direct numerical integral, its false-alarm rate, its verdicts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from workers.kayenta.judge.sequential import SequentialOptions, log_mixture_ratios, paired_blocks, sequential_test


def integrated_ratio(x: np.ndarray, r: float) -> float:
    """Λ by brute force: both likelihoods integrated over log-sigma (and theta ~ N(0, r)) on a grid."""
    log_sigma = np.linspace(-8, 8, 4001)
    theta = np.linspace(-12 * math.sqrt(r), 12 * math.sqrt(r), 2401)
    sigma = np.exp(log_sigma)[:, None]
    n, s = x.size, float(np.sum(x**2))

    def log_lik(mean: np.ndarray) -> np.ndarray:  # mean in units of x, shape (sigma, theta)
        return -n * np.log(sigma) - (s - 2 * mean * x.sum() + n * mean**2) / (2 * sigma**2)

    null = np.exp(log_lik(np.zeros((1, 1))) + 40).sum()
    prior = np.exp(-(theta**2) / (2 * r))[None, :] / math.sqrt(2 * math.pi * r) * (theta[1] - theta[0])
    mixed = (np.exp(log_lik(sigma * theta[None, :]) + 40) * prior).sum()
    return float(mixed / null)


@pytest.mark.parametrize("r", [0.5, 1.0])
def test_ratio_equals_the_integral_it_stands_for(r: float) -> None:
    x = np.array([0.3, 1.1, -0.2, 0.9, 1.4])
    closed = float(np.exp(log_mixture_ratios(x, r)[-1]))
    assert closed == pytest.approx(integrated_ratio(x, r), rel=1e-3)


def test_one_observation_proves_nothing() -> None:
    assert log_mixture_ratios(np.array([5.0]), 1.0)[0] == -np.inf


def test_blocks_pair_samples_by_instant_and_drop_missing() -> None:
    control = np.array([1.0, 1.0, np.nan, 1.0, 1.0, 1.0, 1.0])
    experiment = np.array([2.0, 3.0, 9.0, 4.0, 5.0])
    assert paired_blocks(control, experiment, 2).tolist() == [1.5, 3.5]


def config(*names: str, **canary: Any) -> dict[str, Any]:
    return {"metrics": [{"name": n, "analysisConfigurations": {"canary": dict(canary)}} for n in names]}


def pairs(control: np.ndarray, experiment: np.ndarray, name: str = "m") -> list[dict[str, Any]]:
    return [{"name": name, "values": {"control": control.tolist(), "experiment": experiment.tolist()}}]


def test_a_healthy_canary_rarely_stops_however_often_it_is_looked_at() -> None:
    rng = np.random.default_rng(7)
    stops = 0
    runs = 400
    for _ in range(runs):
        control, experiment = rng.normal(100, 5, 300), rng.normal(100, 5, 300)
        # looked at after each of ten intervals; the verdict on the full series covers every prefix
        stops += sequential_test(config("m"), pairs(control, experiment))["stop"]
    assert stops / runs <= 0.05


def test_a_clearly_bad_canary_stops_with_the_reason() -> None:
    rng = np.random.default_rng(3)
    control, experiment = rng.normal(100, 5, 30), rng.normal(130, 5, 30)
    verdict = sequential_test(config("m", direction="increase"), pairs(control, experiment))
    assert verdict["stop"] is True
    assert verdict["reason"].startswith("Sequential test: m proven worse than the baseline")
    (metric,) = verdict["metrics"]
    assert metric["pValue"] <= metric["level"] == 0.05
    assert metric["observations"] == 6


def test_a_change_in_the_harmless_direction_or_within_the_allowed_effect_does_not_stop() -> None:
    rng = np.random.default_rng(3)
    control, experiment = rng.normal(100, 5, 60), rng.normal(130, 5, 60)
    assert sequential_test(config("m", direction="decrease"), pairs(control, experiment))["stop"] is False
    lenient = config("m", effectSize={"allowedIncrease": 1.5})
    assert sequential_test(lenient, pairs(control, experiment))["stop"] is False


def test_alpha_is_shared_among_unmuted_metrics() -> None:
    rng = np.random.default_rng(5)
    both = config("a", "b")
    both["metrics"].append({"name": "c", "analysisConfigurations": {"canary": {"muted": True}}})
    control = rng.normal(10, 1, 30)
    data = [*pairs(control, control + 5, "a"), *pairs(control, control, "b"), *pairs(control, control + 9, "c")]
    verdict = sequential_test(both, data, SequentialOptions(alpha=0.1))
    assert [m["name"] for m in verdict["metrics"]] == ["a", "b"]
    assert {m["level"] for m in verdict["metrics"]} == {0.05}
