"""Renders a notification's words once, for every channel: what happened, to which execution, and where to look.

The title follows Spinnaker's Echo ("billing's deploy pipeline has failed", "Stage bake of billing's
deploy pipeline is starting"); the facts carry the status, the trigger, and for a failure the
failing stage and its error; the link opens the execution in Deck
(``<deck>/#/applications/{app}/executions/details/{id}``), and a manual judgment's link adds the stage.
"""

from __future__ import annotations

from schemas.echo_notifications import Notification
from schemas.json_types import Json

FAILED_STAGE_STATUSES = ("TERMINAL", "STOPPED", "FAILED_CONTINUE", "CANCELED")

PIPELINE_PHRASES = {
    "pipeline.starting": "is starting",
    "pipeline.complete": "has completed successfully",
    "pipeline.failed": "has failed",
}
STAGE_PHRASES = {
    "stage.starting": "is starting",
    "stage.complete": "has completed",
    "stage.failed": "has failed",
    "manualJudgment": "is awaiting manual judgment",
    "manualJudgmentContinue": "was judged to continue",
    "manualJudgmentStop": "was judged to stop",
}


def execution_link(deck_base_url: str, application: str, execution_id: str) -> str:
    """The execution's page in Deck."""
    return f"{deck_base_url.rstrip('/')}/#/applications/{application}/executions/details/{execution_id}"


def trigger_summary(trigger: Json) -> str:
    """A line saying what started the execution: ``manual by alice``, ``cron 0 0 * * * ?``, ``webhook github``."""
    kind = str(trigger.get("type") or "manual")
    detail = trigger.get("cronExpression") or trigger.get("source") or trigger.get("branch") or ""
    user = trigger.get("user")
    parts = [kind, str(detail)] if detail else [kind]
    if user and user != "[anonymous]":
        parts.append(f"by {user}")
    return " ".join(parts)


def stage_error(stage: Json) -> str | None:
    """The error a stage recorded, as Orca keeps it in ``context.exception``."""
    exception = (stage.get("context") or {}).get("exception") or {}
    details = exception.get("details") or {}
    errors = details.get("errors") or []
    return str(errors[0]) if errors else (str(details["error"]) if details.get("error") else None)


def failing_stage(execution: Json) -> Json | None:
    """The first stage that ended in a failure, if any."""
    return next((s for s in execution.get("stages") or [] if s.get("status") in FAILED_STAGE_STATUSES), None)


def render(
    when: str, execution: Json, stage: Json | None, *, deck_base_url: str, custom_text: str | None
) -> Notification:
    """The notification for ``when`` about ``execution`` (and ``stage`` for stage and judgment events)."""
    application = str(execution.get("application") or "")
    name = str(execution.get("name") or "")
    execution_id = str(execution.get("id") or "")
    link = execution_link(deck_base_url, application, execution_id)
    subject = f"{application}'s {name} pipeline"
    facts = {"Application": application, "Pipeline": name, "Trigger": trigger_summary(execution.get("trigger") or {})}
    judgment_link = None
    if stage is None:
        status = str(execution.get("status") or "")
        title = f"{subject} {PIPELINE_PHRASES.get(when, when)}"
        text = f"Execution {execution_id} of {subject}: {status}."
        failed = failing_stage(execution) if when == "pipeline.failed" else None
        if failed is not None:
            facts["Failing stage"] = str(failed.get("name") or failed.get("refId"))
            if error := stage_error(failed):
                facts["Error"] = error
    else:
        status = str(stage.get("status") or "")
        stage_name = str(stage.get("name") or stage.get("refId") or "")
        title = f"Stage {stage_name} of {subject} {STAGE_PHRASES.get(when, when)}"
        text = f"Stage {stage_name} ({stage.get('type')}) of execution {execution_id}: {status}."
        facts["Stage"] = stage_name
        if when == "stage.failed" and (error := stage_error(stage)):
            facts["Error"] = error
        context = stage.get("context") or {}
        if when.startswith("manualJudgment"):
            if context.get("instructions"):
                text += f"\nInstructions: {context['instructions']}"
            if context.get("judgedBy"):
                facts["Judged by"] = str(context["judgedBy"])
            if context.get("judgmentInput"):
                facts["Input"] = str(context["judgmentInput"])
            stages = execution.get("stages") or []
            index = next((n for n, other in enumerate(stages) if other.get("id") == stage.get("id")), 0)
            judgment_link = f"{link}?refId={stage.get('refId')}&stage={index}"
    facts["Status"] = status
    return Notification(
        when=when,
        title=title,
        text=text,
        link=link,
        application=application,
        execution_id=execution_id,
        execution_name=name,
        status=status,
        stage_name=str(stage.get("name")) if stage else None,
        judgment_link=judgment_link,
        custom_text=custom_text,
        facts=facts,
    )
