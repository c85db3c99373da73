"""``gennaker application …`` and ``gennaker pipeline …`` against the whole system, as ``spin`` users run them.

The commands run in a thread (each does its own ``asyncio.run``) and talk HTTP to the in-process
stack of :mod:`tests.integration.gate.conftest`: mongoeco's wire server, a MemoryBus, Front50,
Orca and the gateway. Nothing is faked between the command line and the store.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from gennaker import cli
from gennaker import logging as gennaker_logging
from tests.integration.gate.conftest import AUTH, TOKENS, System, start_system
from tests.integration.gate.flows import exported_pipeline


@dataclass
class Result:
    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No machine GENNAKER_* settings; the workers' logs kept off the commands' stdout."""
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENNAKER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(gennaker_logging, "configure_logging", lambda *args, **kwargs: None)
    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
    yield
    structlog.configure(**saved)


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        yield await start_system(stack, workers=("front50", "orca"))


@pytest.fixture
async def secured() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        yield await start_system(stack, auth=AUTH, workers=("front50", "orca"))


class Cli:
    """Runs ``gennaker`` sub-commands against one system's gateway, capturing what they print."""

    def __init__(self, system: System, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.endpoint = str(system.client.make_url("/")).rstrip("/")
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    async def __call__(self, *argv: str, stdin: str | None = None, endpoint: bool = True) -> Result:
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        args = [*argv, "--gate-endpoint", self.endpoint] if endpoint else list(argv)
        self.capsys.readouterr()
        status = await asyncio.to_thread(cli.main, args)
        out, err = self.capsys.readouterr()
        return Result(status, out, err)


@pytest.fixture
def gennaker(system: System, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(system, capsys, monkeypatch)


def table_rows(out: str) -> list[list[str]]:
    """The cells of an aligned table (columns are two or more spaces apart)."""
    return [[cell for cell in line.split("  ") if cell.strip()] for line in out.splitlines() if line.strip()]


def cells(out: str) -> list[list[str]]:
    return [[cell.strip() for cell in row] for row in table_rows(out)]


async def test_application_save_list_get_change_delete(gennaker: Cli, tmp_path: Path) -> None:
    created = await gennaker(
        "application", "save", "--application-name", "shop", "--owner-email", "shop@example.com",
        "--cloud-providers", "aws", "--cloud-providers", "kubernetes",
    )  # fmt: skip
    assert created.status == 0, created.err
    assert created.out.splitlines()[0].endswith("SUCCEEDED: Create Application: shop")
    assert "Application save succeeded" in created.out

    spec = tmp_path / "payments.json"
    spec.write_text(json.dumps({"name": "payments", "email": "pay@example.com", "description": "Takes money"}))
    assert (await gennaker("application", "save", "--file", str(spec))).status == 0

    listed = await gennaker("application", "list")
    assert listed.status == 0, listed.err
    rows = cells(listed.out)
    assert rows[0] == ["NAME", "OWNER", "CLOUD PROVIDERS", "UPDATED (UTC)", "DESCRIPTION"]
    assert [row[:3] for row in rows[1:]] == [
        ["payments", "pay@example.com", "-"],
        ["shop", "shop@example.com", "aws,kubernetes"],
    ]
    as_json = (await gennaker("application", "list", "--output", "json")).json()
    assert sorted(app["name"] for app in as_json) == ["payments", "shop"]
    assert yaml.safe_load((await gennaker("application", "list", "-o", "yaml")).out) == as_json

    shown = await gennaker("application", "get", "shop")
    assert shown.status == 0, shown.err
    assert ["cloudProviders", "aws,kubernetes"] in cells(shown.out)

    changed = await gennaker("application", "save", "-a", "shop", "--description", "Sells things", "-o", "json")
    assert changed.status == 0, changed.err
    task = changed.json()
    assert task["status"] == "SUCCEEDED" and task["name"] == "Update Application: shop"
    attributes = (await gennaker("application", "get", "shop", "--output", "json")).json()["attributes"]
    assert attributes["description"] == "Sells things"
    assert attributes["email"] == "shop@example.com"  # an update merges: what was not given stays

    deleted = await gennaker("application", "delete", "payments")
    assert deleted.status == 0, deleted.err
    assert "Application deleted" in deleted.out
    gone = await gennaker("application", "get", "payments")
    assert gone.status == 2
    assert gone.err.strip() == (
        "gennaker: the gateway refused GET /applications/payments (404): Application not found (id: payments)"
    )
    again = await gennaker("application", "delete", "payments")
    assert again.status == 2 and "there is no application payments to delete" in again.err


async def test_application_save_reports_the_failed_task(gennaker: Cli) -> None:
    refused = await gennaker("application", "save", "-a", "no spaces!", "--owner-email", "x@example.com")
    assert refused.status == 2
    assert "ended TERMINAL" in refused.err and "name: may contain only letters" in refused.err
    assert len(refused.err.strip().splitlines()) == 1

    ownerless = await gennaker("application", "save", "-a", "newapp")
    assert ownerless.status == 2 and "--owner-email" in ownerless.err
    nameless = await gennaker("application", "save", "--owner-email", "x@example.com")
    assert nameless.status == 2 and "--application-name" in nameless.err


async def test_pipeline_save_list_get_change_history_delete(gennaker: Cli, tmp_path: Path) -> None:
    await gennaker("application", "save", "-a", "shop", "--owner-email", "shop@example.com")
    exported = exported_pipeline("shop")
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps(exported))

    created = await gennaker("pipeline", "save", "--file", str(path))
    assert created.status == 0, created.err
    assert "pipeline 'deploy to prod' of shop created" in created.out
    assert "Pipeline save succeeded" in created.out

    stored = (
        await gennaker("pipeline", "get", "--application", "shop", "--name", "deploy to prod", "-o", "json")
    ).json()
    assert stored["stages"] == exported["stages"]
    stored["stages"] = stored["stages"][:2]
    stored.pop("id")  # found again by name, as spin does
    changed = await gennaker("pipeline", "save", "-f", "-", "--output", "json", stdin=json.dumps(stored))
    assert changed.status == 0, changed.err
    assert f"(id {changed.json()['id']})" in created.out
    assert len(changed.json()["stages"]) == 2

    await gennaker("pipeline", "save", "-f", "-", stdin=json.dumps(exported_pipeline("shop", "rollback")))
    listed = await gennaker("pipeline", "list", "-a", "shop")
    assert listed.status == 0, listed.err
    rows = cells(listed.out)
    assert rows[0] == ["NAME", "ID", "STAGES", "TRIGGERS", "STATE", "UPDATED (UTC)", "BY"]
    assert sorted((row[0], row[2], row[3]) for row in rows[1:]) == [
        ("deploy to prod", "2", "cron,docker(off)"),
        ("rollback", "3", "cron,docker(off)"),
    ]
    assert sorted(p["name"] for p in (await gennaker("pipeline", "list", "-a", "shop", "-o", "json")).json()) == [
        "deploy to prod",
        "rollback",
    ]

    shown = await gennaker("pipeline", "get", "-a", "shop", "-n", "deploy to prod")
    assert shown.status == 0, shown.err
    shown_rows = cells(shown.out)
    assert ["name", "deploy to prod"] in shown_rows
    assert ["2", "manualJudgment", "Approve", "1"] in shown_rows

    history = await gennaker("pipeline", "history", "-a", "shop", "-n", "deploy to prod")
    assert history.status == 0, history.err
    versions = cells(history.out)
    assert versions[0][:2] == ["VERSION", "UPDATED (UTC)"]
    assert [(row[0], row[4]) for row in versions[1:]] == [("2", "2"), ("1", "3")]
    as_json = (await gennaker("pipeline", "history", "-a", "shop", "-n", "deploy to prod", "-o", "json")).json()
    assert [len(version["stages"]) for version in as_json] == [2, 3]

    deleted = await gennaker("pipeline", "delete", "-a", "shop", "-n", "deploy to prod")
    assert deleted.status == 0, deleted.err
    remaining = (await gennaker("pipeline", "list", "-a", "shop", "-o", "json")).json()
    assert [p["name"] for p in remaining] == ["rollback"]
    missing = await gennaker("pipeline", "get", "-a", "shop", "-n", "deploy to prod")
    assert missing.status == 2 and "(404)" in missing.err


async def test_an_invalid_pipeline_is_refused_naming_the_field(gennaker: Cli) -> None:
    await gennaker("application", "save", "-a", "shop", "--owner-email", "shop@example.com")
    broken = exported_pipeline("shop")
    del broken["stages"][1]["refId"]
    refused = await gennaker("pipeline", "save", "-f", "-", stdin=json.dumps(broken))
    assert refused.status == 2
    assert refused.err.startswith("gennaker: the gateway refused POST /pipelines (400): stages[1].refId")
    assert len(refused.err.strip().splitlines()) == 1

    nameless = await gennaker("pipeline", "save", "-f", "-", stdin=json.dumps({"application": "shop"}))
    assert nameless.status == 2 and "needs 'name'" in nameless.err
    not_json = await gennaker("pipeline", "save", "-f", "-", stdin="{stages: []")
    assert not_json.status == 2 and "is not valid JSON" in not_json.err
    no_app = await gennaker("pipeline", "save", "-f", "-", stdin=json.dumps(exported_pipeline("ghost")))
    assert no_app.status == 2 and "(404)" in no_app.err


async def test_gate_endpoint_wins_over_the_environment(
    gennaker: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GENNAKER_GATEWAY_URL", "http://127.0.0.1:9")
    assert (await gennaker("application", "list")).status == 0
    unreachable = await gennaker("application", "list", endpoint=False)
    assert unreachable.status == 1
    assert "cannot reach the gateway at http://127.0.0.1:9" in unreachable.err


async def test_static_tokens_without_write_are_refused(
    secured: System, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gennaker = Cli(secured, capsys, monkeypatch)
    admin_settings = tmp_path / "admin.toml"
    admin_settings.write_text(f'token = "{TOKENS["admin"]}"\n')
    restricted = tmp_path / "secret.json"
    restricted.write_text(
        json.dumps(
            {"name": "secret", "email": "ops@example.com", "permissions": {"READ": ["dev", "ops"], "WRITE": ["ops"]}}
        )
    )

    anonymous = await gennaker("application", "list")
    assert anonymous.status == 2 and "(401)" in anonymous.err and "GENNAKER_TOKEN" in anonymous.err

    saved = await gennaker("--settings", str(admin_settings), "application", "save", "--file", str(restricted))
    assert saved.status == 0, saved.err
    pipeline = json.dumps(exported_pipeline("secret"))

    monkeypatch.setenv("GENNAKER_TOKEN", TOKENS["dev"])
    assert [app["name"] for app in (await gennaker("application", "list", "-o", "json")).json()] == ["secret"]
    refused = await gennaker("pipeline", "save", "-f", "-", stdin=pipeline)
    assert refused.status == 2
    assert refused.err.strip() == (
        "gennaker: the gateway refused POST /pipelines (403): "
        "Access denied to application secret - required authorization: WRITE"
    )
    not_deleted = await gennaker("application", "delete", "secret")
    assert not_deleted.status == 2 and "(403)" in not_deleted.err

    monkeypatch.setenv("GENNAKER_TOKEN", TOKENS["ops"])
    allowed = await gennaker("pipeline", "save", "-f", "-", stdin=pipeline)
    assert allowed.status == 0, allowed.err
    assert [p["name"] for p in (await gennaker("pipeline", "list", "-a", "secret", "-o", "json")).json()] == [
        "deploy to prod"
    ]
