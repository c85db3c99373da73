"""The sinks' request bodies are built by splicing each envelope's own JSON in; they must still say
exactly what the documented shapes say (HEC event objects, Elasticsearch bulk action lines)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bus import Envelope
from schemas.echo_sinks import ElasticsearchSink, SplunkSink
from workers.echo.sinks.batcher import redacted
from workers.echo.sinks.elasticsearch import ElasticsearchBulk
from workers.echo.sinks.splunk import SplunkHec

START = datetime(2026, 12, 3, 23, 59, 59, 900_000, tzinfo=UTC)


def events(count: int) -> list[Envelope]:
    return [
        Envelope(
            source="/gennaker/orca/é",
            type="io.gennaker.orca.stage.completed.v1",
            time=START + timedelta(milliseconds=50 * n),
            data={"application": "billing", "n": n, "name": 'a "quoted" ünïcode name'},
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("extra", [{}, {"index": "main", "source": "/custom"}])
def test_hec_body_is_one_event_object_per_envelope(extra: dict[str, str]) -> None:
    hec = SplunkHec(SplunkSink(name="hec", url="http://splunk", token="t", **extra))
    batch = events(5)
    parsed = [json.loads(line) for line in hec.body(batch).split(b"\n")]
    assert parsed == [hec.event(envelope) for envelope in batch]
    assert [list(event) for event in parsed] == [list(hec.event(envelope)) for envelope in batch]


def test_bulk_action_lines_name_each_events_index_across_a_second_and_a_day() -> None:
    es = ElasticsearchBulk(ElasticsearchSink(name="es", url="http://es", index="ev-%Y.%m.%d-%H%M%S"))
    batch = events(5)
    lines = es.body(batch).split(b"\n")
    assert lines[-1] == b""
    for number, envelope in enumerate(batch):
        index = envelope.time.strftime("ev-%Y.%m.%d-%H%M%S")
        assert json.loads(lines[2 * number]) == {"create": {"_index": index, "_id": envelope.id}}
        assert Envelope.model_validate_json(lines[2 * number + 1]) == envelope
    assert {json.loads(lines[2 * n])["create"]["_index"] for n in range(5)} == {
        "ev-2026.12.03-235959",
        "ev-2026.12.04-000000",
    }


def test_an_event_without_secrets_is_not_copied_and_one_with_them_is_redacted() -> None:
    plain = events(1)[0]
    assert redacted(plain) is plain
    secret = plain.model_copy(update={"data": {"trigger": {"secret": "hunter2"}}})
    assert "hunter2" not in redacted(secret).to_bytes().decode()
    assert secret.data["trigger"]["secret"] == "hunter2"
