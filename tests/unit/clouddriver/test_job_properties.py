"""A job's propertyFile is parsed as Spinnaker parses it."""

from __future__ import annotations

from typing import Any

import pytest

from workers.clouddriver.kubernetes.properties import parse


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("SPINNAKER_PROPERTY_a=b", {"a": "b"}),
        ("Spinnaker_Property_a=b", {}),  # the prefix is case sensitive
        ('SPINNAKER_CONFIG_JSON={"a": "b"}', {"a": "b"}),
        ('SPINNAKER_CONFIG_JSON={"a": "b}', None),  # invalid JSON: the whole file is unreadable
        ("noise\nSPINNAKER_PROPERTY_URL=http://x/?q=1\r\n", {"URL": "http://x/?q=1"}),  # '=' in the value
        ('SPINNAKER_PROPERTY_a=1\nSPINNAKER_CONFIG_JSON={"a": 2, "b": [1]}', {"a": 2, "b": [1]}),
    ],
)
def test_property_lines(log: str, expected: dict[str, Any] | None) -> None:
    assert parse(log) == expected
