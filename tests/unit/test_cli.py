"""The command line refuses what it cannot do with one line saying what to do, and the right status."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bus import Envelope
from gennaker import cli
from gennaker import logging as gennaker_logging
from gennaker.commands.events import admits, format_event, load_event
from gennaker.host import free_port
from tests.contract.messages import Noticed


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No machine GENNAKER_* settings, no global logging reconfiguration, data in a temp dir."""
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENNAKER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(gennaker_logging, "configure_logging", lambda *args, **kwargs: None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert "gennaker 0.1.0" in capsys.readouterr().out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["up"], ["worker"], ["gateway"], ["store", "serve"], ["events", "tail"], ["events", "publish"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main([*command, "--help"])
        assert exit_.value.code == 0
    for command in (["dlq", "list"], ["dlq", "show"], ["dlq", "replay"], ["schemas", "export"]):
        with pytest.raises(SystemExit):
            cli.main([*command, "--help"])
    assert "GENNAKER_AMQP_URL" not in capsys.readouterr().err


def test_worker_needs_rabbitmq(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "worker", "orca")
    assert status == 2
    assert "GENNAKER_AMQP_URL" in err and "--memory" in err


def test_unknown_worker_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "worker", "deck", "--memory")
    assert status == 2
    assert "no worker named 'deck'" in err and "front50" in err


def test_gateway_needs_rabbitmq(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "gateway")
    assert status == 2
    assert "GENNAKER_AMQP_URL" in err and "gennaker up" in err


def test_bad_settings_file_is_status_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("gateway_port = 'x'\n")
    status, _, err = run(capsys, "--settings", str(path), "dlq", "list")
    assert status == 2
    assert "gateway_port" in err
    status, _, err = run(capsys, "dlq", "list", "--settings", str(tmp_path / "missing.toml"))
    assert status == 2
    assert "missing.toml does not exist" in err


def test_publish_names_the_missing_fields(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "events", "publish", Noticed.message_type, "--data", '{"fail_times": 1}')
    assert status == 2
    assert "n: Field required" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["orca.NoSuchThing"], "unknown event type 'orca.NoSuchThing': Gennaker's names are its own"),
        (["system.Ping"], "'system.Ping' is an internal query that only Gennaker's services publish"),
        (["system.worker.started"], "'system.worker.started' is an internal event that only Gennaker's services"),
        (["io.gennaker.orca.stage.completed.v1"], "publish a CloudEvent of your own type instead"),
        (["system.worker.started", "--data", "{not json"], "--data is not valid JSON"),
        (["system.worker.started", "--data", "[1]"], "--data must be a JSON object"),
        (["io.gennaker.contract.outside.noticed.v9", "--data", "{}"], "newer than this service knows"),
    ],
)
def test_publish_refuses_what_is_not_a_valid_event(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    status, _, err = run(capsys, "events", "publish", *argv)
    assert status == 2
    assert expected in err


def test_publish_without_a_gateway_says_where_it_looked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("GENNAKER_GATEWAY_URL", url)
    data = '{"result": "SUCCESS"}'
    status, _, err = run(capsys, "events", "publish", "com.example.build.finished", "--data", data)
    assert status == 1
    assert f"cannot reach the gateway at {url}" in err and "GENNAKER_GATEWAY_URL" in err


def test_tail_without_a_gateway_says_where_it_looked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENNAKER_GATEWAY_PORT", str(free_port()))
    status, _, err = run(capsys, "events", "tail")
    assert status == 1
    assert "cannot reach the gateway" in err


def test_replay_needs_ids_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "dlq", "replay")[0] == 2
    status, _, err = run(capsys, "dlq", "replay", "01ABC", "--all")
    assert status == 2
    assert "--all" in err


def test_load_event_accepts_an_external_event_by_name_or_cloudevents_type_and_any_foreign_type() -> None:
    by_name, _ = load_event(Noticed.message_type, '{"n": 1}')
    by_type, _ = load_event(Noticed.cloudevent_type(), '{"n": 1}')
    assert by_name == by_type == Noticed(n=1)
    assert load_event("com.example.build.finished", '{"result": "SUCCESS"}') == (None, {"result": "SUCCESS"})


def test_event_line_shows_time_type_subject_source_and_data() -> None:
    envelope = Envelope(
        source="/gennaker",
        type="io.gennaker.system.worker.started.v1",
        subject="orca",
        time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        data={"service": "orca", "nested": {"a": 1}},
    )
    assert format_event(envelope) == (
        "2026-01-02T03:04:05.678Z  system.worker.started v1  subject=orca  source=/gennaker  "
        '{"service":"orca","nested":{"a":1}}'
    )
    assert Envelope.model_validate_json(format_event(envelope, "json")) == envelope
    long = envelope.model_copy(update={"data": {"x": "y" * 1000}})
    assert len(format_event(long, "table")) < 400


def test_tail_prints_each_event_as_a_json_line_or_a_yaml_document() -> None:
    envelopes = [
        Envelope(source="/s", type="com.example.built", subject=f"run-{n}", data={"n": n, "tags": ["a"]})
        for n in (1, 2)
    ]
    stream = "\n".join(format_event(envelope, "yaml") for envelope in envelopes)
    assert [Envelope.model_validate(document) for document in yaml.safe_load_all(stream)] == envelopes
    assert stream.startswith("---\n") and "\ntags:\n" not in stream  # the data stays nested under data:
    lines = "\n".join(format_event(envelope, "json") for envelope in envelopes).splitlines()
    assert [Envelope.model_validate_json(line) for line in lines] == envelopes
    parsed = cli.build_parser().parse_args(["events", "tail", "orca.#", "-o", "yaml"])
    assert (parsed.output, cli.build_parser().parse_args(["events", "tail", "--json"]).output) == ("yaml", "json")
    assert cli.build_parser().parse_args(["events", "tail"]).output == "table"


def test_tail_filters_by_application_and_execution() -> None:
    envelope = Envelope(source="/s", type="t", subject="exec-1", data={"application": "billing"})
    assert admits(envelope, None, None)
    assert admits(envelope, "billing", "exec-1")
    assert not admits(envelope, "payments", None)
    assert not admits(envelope, None, "exec-2")
    assert admits(Envelope(source="/s", type="t", data={"executionId": "exec-2"}), None, "exec-2")


def test_schemas_export_prints_what_it_wrote(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("schemas.export", reason="schemas/export.py has not landed yet")
    status, out, _ = run(capsys, "schemas", "export", str(tmp_path / "out"))
    assert status == 0
    written = [line for line in out.splitlines() if not line.startswith("wrote ")]
    assert written and all(Path(line).is_file() for line in written)


def test_a_path_that_cannot_be_written_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    status, _, err = run(capsys, "schemas", "export", str(blocker / "schemas"))
    assert status == 1
    assert err.startswith("gennaker: ") and err.count("\n") == 1 and str(blocker) in err, err

    status, _, err = run(capsys, "store", "serve", "--path", str(blocker / "store.sqlite"))
    assert status == 1
    assert f"cannot create the embedded store's directory {blocker}" in err and "GENNAKER_DATA_DIR" in err, err
    status, _, err = run(capsys, "store", "serve", "--path", str(tmp_path))  # a directory, not a file
    assert status == 1
    assert f"cannot open the embedded store's file {tmp_path}" in err, err
