"""Idempotency keys: derived, not drawn (the same parts give the same key, any other part another),
sent as the draft's structured-field string, and read back from clients quoted or bare."""

from __future__ import annotations

import uuid

import pytest

from schemas.idempotency import derive, has_header, header_value, parse_header


def test_the_same_parts_give_the_same_key_and_any_change_another() -> None:
    key = derive("orca.webhook", "01EXEC", "01STAGE", "1", 1700000000000, 1)
    assert key == derive("orca.webhook", "01EXEC", "01STAGE", "1", 1700000000000, 1)
    assert uuid.UUID(key).version == 5
    others = {
        derive("orca.webhook", "01EXEC", "01STAGE", "1", 1700000000000, 2),
        derive("orca.webhook", "01EXEC", "01STAGE", "2", 1700000000000, 1),
        derive("orca.webhook", "01EXEC", "01STAGE", "1", 1700000000001, 1),
        derive("orca.webhook", "01EXEC", "01STAGE1", "", 1700000000000, 1),  # parts never run together
    }
    assert key not in others and len(others) == 4


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('  "a \\"quoted\\" key"  ', 'a "quoted" key'),
        (header_value('back\\slash "and" quote'), 'back\\slash "and" quote'),
    ],
)
def test_a_clients_key_is_read_quoted_or_bare(sent: str, key: str) -> None:
    assert parse_header(sent) == key


@pytest.mark.parametrize(
    ("sent", "complaint"),
    [("", "empty"), ('""', "empty"), ("x" * 256, "at most 255"), ("caf\u00e9", "visible ASCII"), ('"a"b"', "escaped")],
)
def test_a_bad_key_is_refused_saying_why(sent: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_header(sent)


def test_a_header_set_by_the_user_is_found_whatever_its_case() -> None:
    assert has_header({"idempotency-KEY": "mine"})
    assert not has_header({"Authorization": "Bearer t"})
