"""The rules of :mod:`schemas.secrets` one by one: what is hidden, and how a save gets it back."""

from __future__ import annotations

import json

import pytest

from schemas.json_types import Json
from schemas.secrets import MARKER, hidden_json, markers_in, redact, restore


@pytest.mark.parametrize(
    ("given", "hidden"),
    [
        ({"triggers": [{"type": "git", "secret": "s"}]}, {"triggers": [{"type": "git", "secret": MARKER}]}),
        ({"Password": "p", "TOKEN": "t", "apiKey": "k"}, {"Password": MARKER, "TOKEN": MARKER, "apiKey": MARKER}),
        ({"secret": ""}, {"secret": ""}),
        ({"secret": {"ref": "vault"}}, {"secret": {"ref": "vault"}}),
        (
            {"parameterConfig": [{"name": "pw", "sensitive": True, "default": "d"}, {"name": "r", "default": "eu"}]},
            {"parameterConfig": [{"name": "pw", "sensitive": True, "default": MARKER}, {"name": "r", "default": "eu"}]},
        ),
        (
            {"trigger": {"sensitiveParameters": ["pw"], "parameters": {"pw": "x", "r": "eu"}}},
            {"trigger": {"sensitiveParameters": ["pw"], "parameters": {"pw": MARKER, "r": "eu"}}},
        ),
        ({"parameters": {"pw": "x"}}, {"parameters": {"pw": "x"}}),
    ],
)
def test_redact_hides_exactly_the_secrets(given: Json, hidden: Json) -> None:
    before = repr(given)
    assert redact(given) == hidden
    assert repr(given) == before, "the original is left unchanged"


def test_restore_pairs_entries_by_id_then_name_then_place_and_type() -> None:
    stored = {"triggers": [{"type": "cron", "id": "c"}, {"type": "webhook", "secret": "w"}, {"id": "g", "secret": "g"}]}
    given = {
        "triggers": [{"id": "g", "secret": MARKER}, {"type": "cron", "id": "c"}, {"type": "webhook", "secret": MARKER}]
    }
    restored = restore(given, stored)
    assert restored["triggers"][0]["secret"] == "g"
    assert restored["triggers"][2]["secret"] == MARKER, "place 2 holds no webhook in the stored version"
    assert markers_in(restored) == ["triggers[2].secret"]


def test_restore_keeps_new_values_and_refuses_nothing_itself() -> None:
    stored = {"triggers": [{"type": "webhook", "secret": "old"}]}
    assert restore({"triggers": [{"type": "webhook", "secret": "new"}]}, stored)["triggers"][0]["secret"] == "new"
    assert restore({"triggers": [{"type": "webhook", "secret": MARKER}]}, stored)["triggers"][0]["secret"] == "old"
    assert markers_in(restore({"secret": MARKER}, None)) == ["secret"]


def test_hidden_json_hides_what_redact_hides_and_passes_the_rest_unchanged() -> None:
    assert json.loads(hidden_json([{"Secret": "s", "n": 1}])) == [{"Secret": MARKER, "n": 1}]
    assert json.loads(hidden_json([{"name": "no secret here", "n": 1}])) == [{"name": "no secret here", "n": 1}]
