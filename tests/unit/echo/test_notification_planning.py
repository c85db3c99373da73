"""Who hears about which Orca event, and what the notification says: Spinnaker's rules, without I/O."""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from workers.echo.notifications.planner import (
    Recipient,
    execution_whens,
    recipients,
    stage_completed_whens,
    stage_started_whens,
)
from workers.echo.notifications.templates import render, trigger_summary


def execution(**fields: Any) -> Json:
    return {
        "id": "01EXEC",
        "application": "billing",
        "name": "deploy",
        "status": "TERMINAL",
        "trigger": {"type": "manual", "user": "olivia"},
        "stages": [],
        "notifications": [],
        **fields,
    }


def test_statuses_map_to_spinnaker_whens() -> None:
    assert execution_whens("SUCCEEDED") == ["pipeline.complete"]
    assert execution_whens("TERMINAL") == ["pipeline.failed"]
    assert execution_whens("CANCELED") == [], "Echo does not notify about canceled executions"
    assert stage_started_whens("manualJudgment", "RUNNING") == ["stage.starting", "manualJudgment"]
    assert stage_started_whens("wait", "SKIPPED") == []
    assert stage_completed_whens("wait", "SKIPPED", {}) == []
    assert stage_completed_whens("wait", "FAILED_CONTINUE", {}) == ["stage.failed"]
    judged = stage_completed_whens("manualJudgment", "SUCCEEDED", {"judgmentStatus": "continue"})
    assert judged == ["stage.complete", "manualJudgmentContinue"]
    assert stage_completed_whens("manualJudgment", "TERMINAL", {"judgmentStatus": "stop"})[-1] == "manualJudgmentStop"


def test_recipients_come_from_pipeline_stage_and_application_each_once() -> None:
    pipeline = execution(
        notifications=[
            {"type": "email", "address": "a@x.io, b@x.io", "when": ["pipeline.failed"]},
            {"type": "slack", "address": "#deploys", "when": ["pipeline.complete"]},
            {"type": "pagerduty", "address": "svc", "when": ["pipeline.failed"]},
        ]
    )
    preferences = {
        "application": "billing",
        "email": [{"address": "a@x.io", "when": ["pipeline.failed"]}],
        "slack": [{"address": "#billing", "when": ["pipeline.failed"], "message": {"pipeline.failed": {"text": "hi"}}}],
    }
    found = recipients("pipeline.failed", pipeline, None, preferences)
    assert found == [
        Recipient("email", "a@x.io", "pipeline.failed"),
        Recipient("email", "b@x.io", "pipeline.failed"),
        Recipient("slack", "#billing", "pipeline.failed", "hi"),
    ]
    silent = {"context": {"notifications": [{"type": "slack", "address": "#x", "when": ["stage.starting"]}]}}
    assert recipients("stage.starting", pipeline, silent, None) == [], "stage notifications need sendNotifications"
    loud = {"context": {**silent["context"], "sendNotifications": True}}
    assert recipients("stage.starting", pipeline, loud, None) == [Recipient("slack", "#x", "stage.starting")]


def test_delivery_ids_are_stable_per_event_and_recipient() -> None:
    one = Recipient("email", "a@x.io", "pipeline.failed")
    assert one.delivery_id("01EVENT") == one.delivery_id("01EVENT")
    assert one.delivery_id("01EVENT") != one.delivery_id("01OTHER")
    assert one.delivery_id("01EVENT") != Recipient("email", "b@x.io", "pipeline.failed").delivery_id("01EVENT")


def test_failure_notification_names_the_failing_stage_its_error_and_the_link() -> None:
    failed_stage = {
        "id": "s2",
        "refId": "2",
        "type": "deploy",
        "name": "Deploy to prod",
        "status": "TERMINAL",
        "context": {"exception": {"details": {"error": "boom", "errors": ["quota exceeded"]}}},
    }
    ok_stage = {"id": "s1", "refId": "1", "type": "wait", "name": "Wait", "status": "SUCCEEDED", "context": {}}
    rendered = render(
        "pipeline.failed",
        execution(stages=[ok_stage, failed_stage]),
        None,
        deck_base_url="https://deck/",
        custom_text="call ops",
    )
    assert rendered.title == "billing's deploy pipeline has failed"
    assert rendered.link == "https://deck/#/applications/billing/executions/details/01EXEC"
    assert rendered.facts["Failing stage"] == "Deploy to prod"
    assert rendered.facts["Error"] == "quota exceeded"
    assert rendered.facts["Trigger"] == "manual by olivia"
    assert rendered.custom_text == "call ops"


def test_manual_judgment_carries_the_judgment_link() -> None:
    judgment = {
        "id": "s9",
        "refId": "9",
        "type": "manualJudgment",
        "name": "Approve",
        "status": "RUNNING",
        "context": {},
    }
    rendered = render(
        "manualJudgment", execution(stages=[judgment]), judgment, deck_base_url="https://deck", custom_text=None
    )
    assert rendered.title == "Stage Approve of billing's deploy pipeline is awaiting manual judgment"
    assert rendered.judgment_link == "https://deck/#/applications/billing/executions/details/01EXEC?refId=9&stage=0"


def test_trigger_summary_names_what_started_it() -> None:
    assert trigger_summary({"type": "cron", "cronExpression": "0 0 12 * * ?"}) == "cron 0 0 12 * * ?"
    assert trigger_summary({"type": "webhook", "source": "github", "user": "[anonymous]"}) == "webhook github"
