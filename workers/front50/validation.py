"""Checks Spinnaker JSON before Front50 stores any of it, naming the offending field.

Every problem is found before the first write, so a refused command stores nothing. Errors carry
field paths such as ``stages[2].requisiteStageRefIds`` or ``triggers[0].cronExpression``; when
there are several, the rejection names the first and its reason lists them all.

Front50 itself only checks that a pipeline has a name and an application (and leaves the graph to
Orca, which fails at run time); Gennaker checks the stage graph, triggers and parameters at save
time so a broken pipeline is refused where it is edited, not where it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.cron_expression import CronExpression, InvalidCronExpression
from schemas.json_types import Json
from schemas.limits import PipelineLimits, name_problem, names_problem, pipeline_problem
from schemas.pipeline_templates import ARTIFACT_TYPE, MAX_VARIABLES, is_templated, parse_reference
from schemas.stage_types import (
    NOTIFICATION_TYPES,
    SPINNAKER_TRIGGER_TYPES,
    STAGE_TYPES,
    TRIGGER_TYPES,
    unknown_type_message,
)
from workers.front50.errors import Rejected, invalid

APPLICATION_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
"""Front50's default ``ApplicationNameValidator`` pattern."""
PERMISSION_KINDS = ("READ", "WRITE", "EXECUTE", "CREATE")
TRIGGER_REQUIRED: dict[str, tuple[str, ...]] = {
    "cron": ("cronExpression",),
    "pipeline": ("application", "pipeline"),
    "jenkins": ("master", "job"),
    "travis": ("master", "job"),
    "wercker": ("master", "job"),
    "concourse": ("account", "team", "project", "jobName"),
    "git": ("source", "project", "slug"),
    "docker": ("account", "repository"),
    "pubsub": ("pubsubSystem", "subscriptionName"),
}
"""String fields each trigger type needs to fire at all (Echo and Igor read these)."""


@dataclass
class Problems:
    """The problems found so far, each a (field path, message) pair."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))

    def raise_if_any(self) -> None:
        """Raise a 400 :class:`Rejected` naming the first problem's field and listing all."""
        if self.items:
            first = self.items[0][0]
            reason = "; ".join(f"{path}: {message}" for path, message in self.items)
            raise invalid(reason, first)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _objects(value: object, path: str, problems: Problems) -> Iterator[tuple[int, Json]]:
    """The dict items of an optional list field, reporting anything that is not one."""
    if value is None:
        return
    if not isinstance(value, list):
        problems.add(path, "must be a list")
        return
    for position, item in enumerate(value):
        if isinstance(item, dict):
            yield position, item
        else:
            problems.add(f"{path}[{position}]", "must be an object")


def _optional(entity: Json, name: str, kind: type, what: str, path: str, problems: Problems) -> None:
    value = entity.get(name)
    if value is not None and not isinstance(value, kind):
        problems.add(f"{path}{name}", f"must be {what}")


def _ref(value: object) -> str | None:
    """Spinnaker refIds are strings, though older exports carry integers; compare them as text."""
    if _is_text(value):
        return str(value).strip()
    if _is_int(value):
        return str(value)
    return None


# --- pipelines ---------------------------------------------------------------------------


def check_pipeline(pipeline: Json, *, kind: str = "pipeline", limits: PipelineLimits | None = None) -> None:
    """Refuse a pipeline config (or strategy) whose shape Orca or Echo could not use, that is over
    ``limits`` (:class:`schemas.limits.PipelineLimits`) or whose names hide characters."""
    exceeded = pipeline_problem(pipeline, limits or PipelineLimits()) or names_problem(pipeline)
    if exceeded is not None:
        raise invalid(exceeded.message, exceeded.field)
    problems = Problems()
    for name in ("application", "name"):
        if not _is_text(pipeline.get(name)):
            problems.add(name, f"a {kind} requires a non-blank {name}")
    if pipeline.get("id") is not None and not _is_text(pipeline.get("id")):
        problems.add("id", "must be a non-blank string when given")
    if pipeline.get("index") is not None and not _is_int(pipeline.get("index")):
        problems.add("index", "must be an integer")
    for flag in ("disabled", "keepWaitingPipelines", "limitConcurrent", "strategy"):
        _optional(pipeline, flag, bool, "true or false", "", problems)
    if is_templated(pipeline):
        check_templated_config(pipeline, problems)
    else:
        _check_stages(pipeline.get("stages"), problems)
    _check_triggers(pipeline.get("triggers"), problems)
    _check_parameters(pipeline.get("parameterConfig"), problems)
    _check_notifications(pipeline.get("notifications"), problems)
    list(_objects(pipeline.get("expectedArtifacts"), "expectedArtifacts", problems))
    problems.raise_if_any()


def check_templated_config(pipeline: Json, problems: Problems) -> None:
    """What a ``templatedPipeline`` config must hold for Orca to render it (its ``stages`` are
    overrides of the template's, so they are not checked as a graph of their own)."""
    template = pipeline.get("template")
    if not isinstance(template, dict):
        problems.add("template", "a templated pipeline requires template: {artifactAccount, reference, type}")
    else:
        if parse_reference(template.get("reference")) is None:
            problems.add(
                "template.reference",
                "must name a Front50 template: spinnaker://<id>, spinnaker://<id>:<tag> or spinnaker://<id>@sha256:<digest>",
            )
        if template.get("type") not in (None, ARTIFACT_TYPE):
            problems.add("template.type", f"must be {ARTIFACT_TYPE!r}")
    variables = pipeline.get("variables")
    if variables is not None and not isinstance(variables, dict):
        problems.add("variables", "must be an object of variable names to values")
    elif isinstance(variables, dict) and len(variables) > MAX_VARIABLES:
        problems.add("variables", f"sets {len(variables)} variables; the limit is {MAX_VARIABLES}")
    for name in ("exclude", "inherit"):
        value = pipeline.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(item, str) for item in value)):
            problems.add(name, "must be a list of names (triggers, parameters, notifications)")
    for position, stage in _objects(pipeline.get("stages"), "stages", problems):
        if not _is_text(stage.get("refId")):
            problems.add(f"stages[{position}].refId", "every stage needs a refId (a non-blank string)")


def _check_stages(stages: object, problems: Problems) -> None:
    found: dict[str, int] = {}
    requisites: dict[str, list[str]] = {}
    items = list(_objects(stages, "stages", problems))
    for position, stage in items:
        path = f"stages[{position}]"
        if not _is_text(stage.get("type")):
            problems.add(f"{path}.type", "every stage needs a non-blank type")
        elif str(stage["type"]) not in STAGE_TYPES:
            problems.add(f"{path}.type", unknown_type_message("stage", str(stage["type"]), STAGE_TYPES))
        ref = _ref(stage.get("refId"))
        if ref is None:
            problems.add(f"{path}.refId", "every stage needs a refId (a non-blank string)")
            continue
        if ref in found:
            problems.add(f"{path}.refId", f"duplicate refId {ref!r} (also stages[{found[ref]}])")
            continue
        found[ref] = position
    for position, stage in items:
        path = f"stages[{position}].requisiteStageRefIds"
        ref = _ref(stage.get("refId"))
        raw = stage.get("requisiteStageRefIds")
        if raw is None:
            continue
        if not isinstance(raw, list):
            problems.add(path, "must be a list of refIds")
            continue
        parents: list[str] = []
        for item in raw:
            parent = _ref(item)
            if parent is None:
                problems.add(path, f"{item!r} is not a refId")
            elif parent not in found:
                problems.add(path, f"refers to refId {parent!r}, which no stage has")
            elif parent == ref:
                problems.add(path, f"stage {ref!r} cannot require itself")
            else:
                parents.append(parent)
        if ref is not None and found.get(ref) == position:
            requisites[ref] = parents
    cycle = _find_cycle(requisites)
    if cycle:
        start = found[cycle[0]]
        problems.add(
            f"stages[{start}].requisiteStageRefIds",
            "stages form a cycle: " + " -> ".join(repr(ref) for ref in [*cycle, cycle[0]]),
        )


def _find_cycle(requisites: dict[str, list[str]]) -> list[str]:
    """A cycle in the stage graph as refIds in order, or empty when it is a DAG."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(ref: str) -> list[str]:
        state[ref] = 1
        stack.append(ref)
        for parent in requisites.get(ref, []):
            if state.get(parent) == 1:
                return stack[stack.index(parent) :]
            if state.get(parent) is None:
                cycle = visit(parent)
                if cycle:
                    return cycle
        stack.pop()
        state[ref] = 2
        return []

    for ref in requisites:
        if ref not in state:
            cycle = visit(ref)
            if cycle:
                return cycle
    return []


def _check_triggers(triggers: object, problems: Problems) -> None:
    for position, trigger in _objects(triggers, "triggers", problems):
        path = f"triggers[{position}]"
        kind = trigger.get("type")
        if not _is_text(kind):
            problems.add(f"{path}.type", "every trigger needs a non-blank type")
            continue
        if not _fires(trigger, str(kind)):
            known = TRIGGER_TYPES | SPINNAKER_TRIGGER_TYPES
            reason = f"; nothing fires it (and without a source, no /webhooks/{kind}/<source> does)"
            problems.add(f"{path}.type", unknown_type_message("trigger", str(kind), known) + reason)
            continue
        _optional(trigger, "enabled", bool, "true or false", f"{path}.", problems)
        for name in TRIGGER_REQUIRED.get(str(kind), ()):
            if not _is_text(trigger.get(name)):
                problems.add(f"{path}.{name}", f"a {kind} trigger needs a non-blank {name}")
        if kind == "pipeline" and trigger.get("status") is not None:
            status = trigger.get("status")
            if not isinstance(status, list) or not all(isinstance(item, str) for item in status):
                problems.add(f"{path}.status", "must be a list of statuses such as 'successful'")
        if kind == "cron":
            _check_cron(trigger, path, problems)


def _fires(trigger: Json, kind: str) -> bool:
    """Whether a trigger of ``kind`` can be saved: Echo or Orca fires it, a typed webhook
    ``/webhooks/{kind}/{source}`` fires it, or it is a Spinnaker trigger type an exported pipeline
    carries (inert here, accepted so the export saves and runs unchanged)."""
    return kind in TRIGGER_TYPES or kind in SPINNAKER_TRIGGER_TYPES or _is_text(trigger.get("source"))


def _check_cron(trigger: Json, path: str, problems: Problems) -> None:
    """The expression and time zone Echo fires a cron trigger by: refused here rather than only
    logged by Echo, which would never fire it."""
    if _is_text(trigger.get("cronExpression")):
        try:
            CronExpression.parse(str(trigger["cronExpression"]))
        except InvalidCronExpression as error:
            expression = str(trigger["cronExpression"])
            reason = str(error) if repr(expression) in str(error) else f"{expression!r}: {error}"
            problems.add(f"{path}.cronExpression", reason)
    zone = trigger.get("timeZone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.add(f"{path}.timeZone", f"{zone!r} is not an IANA time zone name such as 'Europe/Paris' or 'UTC'")


def _check_notifications(notifications: object, problems: Problems) -> None:
    """Refuse a notification type Echo has no channel for at all; a known channel this installation
    does not configure is accepted (Spinnaker accepts it too, and exported pipelines carry Slack
    notifications: Echo dead-letters that delivery with the reason instead)."""
    for position, notification in _objects(notifications, "notifications", problems):
        kind = notification.get("type")
        if not _is_text(kind):
            problems.add(f"notifications[{position}].type", "every notification needs a non-blank type")
        elif str(kind) not in NOTIFICATION_TYPES:
            message = unknown_type_message("notification", str(kind), NOTIFICATION_TYPES)
            problems.add(f"notifications[{position}].type", message)


def _check_parameters(parameters: object, problems: Problems) -> None:
    names: dict[str, int] = {}
    for position, parameter in _objects(parameters, "parameterConfig", problems):
        path = f"parameterConfig[{position}]"
        name = parameter.get("name")
        if not _is_text(name):
            problems.add(f"{path}.name", "every parameter needs a non-blank name")
        elif str(name) in names:
            problems.add(f"{path}.name", f"duplicate parameter {name!r} (also parameterConfig[{names[str(name)]}])")
        else:
            names[str(name)] = position
        for flag in ("required", "hasOptions", "pinned"):
            _optional(parameter, flag, bool, "true or false", f"{path}.", problems)
        for text in ("label", "description"):
            _optional(parameter, text, str, "a string", f"{path}.", problems)
        default = parameter.get("default")
        if default is not None and not isinstance(default, str | int | float):
            problems.add(f"{path}.default", "must be a string (or a number)")
        for option_position, option in _objects(parameter.get("options"), f"{path}.options", problems):
            if "value" not in option:
                problems.add(f"{path}.options[{option_position}].value", "every option needs a value")


# --- applications, projects, service accounts, notifications ----------------------------


def check_application(application: Json) -> None:
    """Refuse an application Front50's default validators would refuse (name, email, permissions)."""
    problems = Problems()
    name = application.get("name")
    if not _is_text(name):
        problems.add("name", "an application requires a non-blank name")
    elif not APPLICATION_NAME.match(str(name).strip()):
        problems.add("name", "may contain only letters, digits, '.', '_' and '-'")
    elif (too_long := name_problem(str(name))) is not None:
        problems.add("name", f"the name {too_long}")
    if not _is_text(application.get("email")):
        problems.add("email", "an application requires an email (Front50's HasEmailValidator)")
    for text in ("description", "repoType", "repoProjectKey", "repoSlug"):
        _optional(application, text, str, "a string", "", problems)
    providers = application.get("cloudProviders")
    if providers is not None and not (
        isinstance(providers, str) or (isinstance(providers, list) and all(isinstance(p, str) for p in providers))
    ):
        problems.add("cloudProviders", "must be a comma-separated string or a list of strings")
    permissions = application.get("permissions")
    if permissions is not None:
        if not isinstance(permissions, dict):
            problems.add("permissions", "must map READ/WRITE/EXECUTE to lists of roles")
        else:
            for kind, roles in permissions.items():
                if kind not in PERMISSION_KINDS:
                    problems.add(f"permissions.{kind}", f"unknown permission; use one of {', '.join(PERMISSION_KINDS)}")
                elif not isinstance(roles, list) or not all(_is_text(role) for role in roles):
                    problems.add(f"permissions.{kind}", "must be a list of role names")
    problems.raise_if_any()


def check_project(project: Json) -> None:
    """Refuse a project without a name or whose ``config`` lists are of the wrong shape."""
    problems = Problems()
    if not _is_text(project.get("name")):
        problems.add("name", "a project requires a non-blank name")
    if project.get("id") is not None and not _is_text(project.get("id")):
        problems.add("id", "must be a non-blank string when given")
    config = project.get("config")
    if config is not None:
        if not isinstance(config, dict):
            problems.add("config", "must be an object")
        else:
            applications = config.get("applications")
            if applications is not None and (
                not isinstance(applications, list) or not all(_is_text(app) for app in applications)
            ):
                problems.add("config.applications", "must be a list of application names")
            list(_objects(config.get("clusters"), "config.clusters", problems))
            for position, entry in _objects(config.get("pipelineConfigs"), "config.pipelineConfigs", problems):
                for name in ("application", "pipelineConfigId"):
                    if not _is_text(entry.get(name)):
                        problems.add(f"config.pipelineConfigs[{position}].{name}", "must be a non-blank string")
    problems.raise_if_any()


def check_service_account(account: Json) -> None:
    """Refuse a service account without a name or with ``memberOf`` that is not a list of roles."""
    problems = Problems()
    if not _is_text(account.get("name")):
        problems.add("name", "a service account requires a non-blank name")
    member_of = account.get("memberOf")
    if member_of is not None and (not isinstance(member_of, list) or not all(_is_text(r) for r in member_of)):
        problems.add("memberOf", "must be a list of role names")
    problems.raise_if_any()


def check_notifications(notifications: Json) -> None:
    """Refuse notification preferences whose channels are not lists of objects."""
    problems = Problems()
    for channel, entries in notifications.items():
        if channel in ("application", "lastModified", "lastModifiedBy"):
            continue
        list(_objects(entries, channel, problems))
    problems.raise_if_any()


__all__ = [
    "Problems",
    "Rejected",
    "check_application",
    "check_notifications",
    "check_pipeline",
    "check_project",
    "check_service_account",
]
