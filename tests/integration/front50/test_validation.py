"""Bad pipelines are refused with the offending field named, and nothing of them is stored."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.front50 import CommandRejected, ListPipelineConfigs, PipelineList, SavePipeline
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client, pipeline


def stages(*specs: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    return [{"refId": ref, "type": "wait", "requisiteStageRefIds": parents} for ref, parents in specs]


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("blank name", pipeline(name="  "), "name", "non-blank name"),
    ("no application", {**pipeline(), "application": None}, "application", "non-blank application"),
    ("duplicate refId", pipeline(stages=stages(("1", []), ("2", ["1"]), ("1", []))), "stages[2].refId", "duplicate"),
    (
        "unknown requisite",
        pipeline(stages=stages(("1", []), ("2", ["1"]), ("3", ["9"]))),
        "stages[2].requisiteStageRefIds",
        "'9'",
    ),
    (
        "cycle",
        pipeline(stages=stages(("1", ["3"]), ("2", ["1"]), ("3", ["2"]))),
        "stages[0].requisiteStageRefIds",
        "cycle",
    ),
    ("self reference", pipeline(stages=stages(("1", ["1"]))), "stages[0].requisiteStageRefIds", "itself"),
    ("stage without type", pipeline(stages=[{"refId": "1"}]), "stages[0].type", "type"),
    ("stage without refId", pipeline(stages=[{"type": "wait"}]), "stages[0].refId", "refId"),
    ("stages not a list", pipeline(stages={"refId": "1"}), "stages", "list"),
    ("trigger without type", pipeline(triggers=[{"enabled": True}]), "triggers[0].type", "type"),
    (
        "cron trigger without expression",
        pipeline(triggers=[{"type": "jenkins", "master": "m", "job": "j"}, {"type": "cron"}]),
        "triggers[1].cronExpression",
        "cronExpression",
    ),
    (
        "cron expression that does not parse",
        pipeline(triggers=[{"type": "cron", "cronExpression": "0 0 25 * * ?"}]),
        "triggers[0].cronExpression",
        "'0 0 25 * * ?'",
    ),
    (
        "cron expression of four fields",
        pipeline(triggers=[{"type": "cron", "cronExpression": "0 0 * *"}]),
        "triggers[0].cronExpression",
        "has 4 fields",
    ),
    (
        "cron time zone that does not exist",
        pipeline(triggers=[{"type": "cron", "cronExpression": "0 0 12 ? * MON-FRI", "timeZone": "Mars/Olympus"}]),
        "triggers[0].timeZone",
        "'Mars/Olympus' is not an IANA time zone",
    ),
    (
        "pipeline trigger without pipeline",
        pipeline(triggers=[{"type": "pipeline", "application": "billing"}]),
        "triggers[0].pipeline",
        "pipeline",
    ),
    (
        "trigger enabled not a bool",
        pipeline(triggers=[{"type": "webhook", "enabled": "yes"}]),
        "triggers[0].enabled",
        "",
    ),
    ("parameter without name", pipeline(parameterConfig=[{"label": "x"}]), "parameterConfig[0].name", "name"),
    (
        "duplicate parameter",
        pipeline(parameterConfig=[{"name": "a"}, {"name": "a"}]),
        "parameterConfig[1].name",
        "duplicate",
    ),
    (
        "option without value",
        pipeline(parameterConfig=[{"name": "a", "hasOptions": True, "options": [{"label": "x"}]}]),
        "parameterConfig[0].options[0].value",
        "value",
    ),
    (
        "required not a bool",
        pipeline(parameterConfig=[{"name": "a", "required": "no"}]),
        "parameterConfig[0].required",
        "",
    ),
    ("index not an int", pipeline(index="1"), "index", "integer"),
    (
        "unknown stage type",
        pipeline(stages=[*stages(("1", []), ("2", ["1"])), {"refId": "3", "type": "bakeManifestt"}]),
        "stages[2].type",
        "unknown stage type 'bakeManifestt'; closest: bakeManifest",
    ),
    (
        "trigger type nothing fires",
        pipeline(triggers=[{"type": "cron", "cronExpression": "0 0 12 ? * *"}, {"type": "crno", "enabled": True}]),
        "triggers[1].type",
        "unknown trigger type 'crno'; closest: cron",
    ),
    (
        "notification type Echo has no channel for",
        pipeline(notifications=[{"type": "slack", "address": "#ok"}, {"type": "bearychat", "address": "x"}]),
        "notifications[1].type",
        "unknown notification type 'bearychat'",
    ),
]


@pytest.mark.parametrize(("case", "body", "field", "words"), CASES, ids=[case[0] for case in CASES])
async def test_rejected_naming_the_field(
    front50: Front50Client, case: str, body: dict[str, Any], field: str, words: str
) -> None:
    event = await front50.send(SavePipeline(authority=ADMIN, pipeline=body, task_id="task-7"))
    assert isinstance(event, CommandRejected), case
    assert (event.status, event.field, event.task_id) == (400, field, "task-7")
    assert words in event.reason
    listed = await front50.ask(ListPipelineConfigs())
    assert isinstance(listed, PipelineList) and listed.pipelines == []


async def test_known_but_unconfigured_notification_types_are_accepted(front50: Front50Client) -> None:
    """Exported Spinnaker pipelines carry Slack and email notifications; Spinnaker saves them whether
    or not Echo configures the channel, and so does Front50 here."""
    body = pipeline(
        notifications=[
            {"type": "slack", "address": "#deploys", "when": ["pipeline.failed"]},
            {"type": "email", "address": "team@example.com", "when": ["pipeline.complete"]},
        ]
    )
    event = await front50.send(SavePipeline(authority=ADMIN, pipeline=body))
    assert not isinstance(event, CommandRejected), event


async def test_spinnaker_and_typed_webhook_triggers_are_accepted(front50: Front50Client) -> None:
    """A Spinnaker export's docker trigger saves (nothing polls registries here), and so does any
    type a typed webhook ``/webhooks/{type}/{source}`` fires."""
    body = pipeline(
        triggers=[
            {"type": "docker", "enabled": True, "account": "hub", "repository": "acme/shop"},
            {"type": "quay", "enabled": True, "source": "shop"},
        ]
    )
    event = await front50.send(SavePipeline(authority=ADMIN, pipeline=body))
    assert not isinstance(event, CommandRejected), event


async def test_integer_ref_ids_from_old_exports_are_accepted(front50: Front50Client) -> None:
    body = pipeline(stages=[{"refId": 1, "type": "wait"}, {"refId": 2, "type": "wait", "requisiteStageRefIds": [1]}])
    event = await front50.send(SavePipeline(authority=ADMIN, pipeline=body))
    assert not isinstance(event, CommandRejected), event
