"""Kayenta's metric set mixer: series paired by tags, a side without the tag set filled with NaN."""

from __future__ import annotations

import math

import pytest

from workers.kayenta.mixer import mix, values_or_gap
from workers.kayenta.sources.base import Series


def series(values: list[float], **tags: str) -> Series:
    return Series(query="q", start=0.0, step=1, values=values, tags=tags)


NO_DATA = series([])


@pytest.mark.parametrize(
    ("control", "experiment", "expected"),
    [
        ([series([1.0])], [series([2.0])], [({}, [1.0], [2.0])]),
        ([NO_DATA], [NO_DATA], [({}, [], [])]),
        (
            [series([1.0], code="200"), series([2.0], code="500")],
            [series([3.0], code="500"), series([4.0], code="200")],
            [({"code": "200"}, [1.0], [4.0]), ({"code": "500"}, [2.0], [3.0])],
        ),
        (
            [series([1.0], code="200")],
            [series([3.0], code="200"), series([4.0], code="503")],
            [({"code": "200"}, [1.0], [3.0]), ({"code": "503"}, None, [4.0])],
        ),
        (
            [NO_DATA],
            [series([3.0], code="200"), series([4.0], code="500")],
            [({"code": "200"}, None, [3.0]), ({"code": "500"}, None, [4.0])],
        ),
        ([series([1.0], code="200")], [NO_DATA], [({"code": "200"}, [1.0], None)]),
    ],
    ids=["untagged", "no data", "by tags", "a group one side lacks", "control had nothing", "canary had nothing"],
)
def test_series_pair_as_kayentas_mixer_pairs_them(
    control: list[Series],
    experiment: list[Series],
    expected: list[tuple[dict[str, str], list[float] | None, list[float] | None]],
) -> None:
    found = [
        (
            pair.tags,
            None if pair.control is None else pair.control.values,
            None if pair.experiment is None else pair.experiment.values,
        )
        for pair in mix(control, experiment)
    ]
    assert found == expected


def test_a_missing_side_is_the_windows_worth_of_nan() -> None:
    gap = values_or_gap(None, 3)
    assert len(gap) == 3 and all(math.isnan(value) for value in gap)
    assert values_or_gap(series([1.0, 2.0]), 3) == [1.0, 2.0]
