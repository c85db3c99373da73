"""Deploy strategies as the after-stages of a create (Orca's ``Strategy`` implementations).

* ``highlander`` — disable every other server group of the cluster, then destroy them
  (``disableCluster`` keeping 1, ``shrinkCluster`` to 1 with ``allowDeleteActive``). Disabling
  first drains their in-flight requests, so no request is dropped.
* ``redblack`` — optional ``delayBeforeDisableSec``, ``disableCluster`` keeping the new one
  enabled; with ``scaleDown`` (after ``delayBeforeScaleDownSec``) ``scaleDownCluster`` keeping 1 at
  full size; with ``maxRemainingAsgs`` ``shrinkCluster`` to that many.
* ``rollingredblack`` — the create starts at zero instances; for each of ``targetPercentages``
  (default ``[100]``) the new server group is resized to that share of its capacity, an optional
  ``pipelineBeforeCleanup`` pipeline runs, and the same share of the old one is disabled; then the
  red/black clean-up.
* ``none`` / absent — nothing after the create.
"""

from __future__ import annotations

import math
from typing import Any

from schemas.json_types import Json
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.deploy import cluster

STRATEGIES = ("highlander", "redblack", "rollingredblack", "none", "")


def after_create(stage: Stage, application: str) -> list[Json]:
    """The stages that finish the strategy of the create ``stage`` once it succeeded."""
    strategy = str(stage.context.get("strategy") or "")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of highlander, redblack, rollingredblack, none")
    return _inherit(stage, _steps(stage, strategy, application))


def _steps(stage: Stage, strategy: str, application: str) -> list[Json]:
    where = cluster.location(stage, application)
    if strategy == "highlander":
        return [
            _step(
                "disableCluster", "disableCluster", where, remainingEnabledServerGroups=1, preferLargerOverNewer=False
            ),
            _step(
                "shrinkCluster",
                "shrinkCluster",
                where,
                shrinkToSize=1,
                allowDeleteActive=True,
                retainLargerOverNewer=False,
            ),
        ]
    if strategy == "redblack":
        return [*_pause(stage, "delayBeforeDisableSec", "Wait before disable"), *_clean_up(stage, where)]
    if strategy == "rollingredblack":
        return _rolling(stage, application, where)
    return []


def _clean_up(stage: Stage, where: Json) -> list[Json]:
    steps = [
        _step("disableCluster", "disableCluster", where, remainingEnabledServerGroups=1, preferLargerOverNewer=False)
    ]
    if stage.context.get("scaleDown") is True:
        steps += _pause(stage, "delayBeforeScaleDownSec", "Wait before scale down")
        steps.append(
            _step(
                "scaleDownCluster",
                "scaleDownCluster",
                where,
                remainingFullSizeServerGroups=1,
                preferLargerOverNewer=False,
                allowScaleDownActive=False,
            )
        )
    remaining = _number(stage.context.get("maxRemainingAsgs"))
    if remaining is not None and remaining >= 1:
        steps.append(
            _step(
                "shrinkCluster",
                "shrinkCluster",
                where,
                shrinkToSize=int(remaining),
                allowDeleteActive=False,
                retainLargerOverNewer=False,
            )
        )
    return steps


def _rolling(stage: Stage, application: str, where: Json) -> list[Json]:
    new = cluster.new_server_group(stage)
    old = cluster.replaced_server_group(stage)
    target = target_capacity(stage)
    percentages = [int(p) for p in stage.context.get("targetPercentages") or [100] if _number(p) is not None]
    steps: list[Json] = []
    for percentage in sorted(set(percentages)):
        desired = math.ceil(target["desired"] * percentage / 100)
        steps.append(
            _step(
                "resizeServerGroup",
                f"Grow to {percentage}%",
                where,
                serverGroupName=new,
                capacity={"min": min(target["min"], desired), "max": target["max"], "desired": desired},
                targetHealthyDeployPercentage=100,
            )
        )
        hook = stage.context.get("pipelineBeforeCleanup")
        if isinstance(hook, dict) and hook.get("pipelineId"):
            steps.append(
                {
                    "type": "pipeline",
                    "name": f"Validate at {percentage}%",
                    "application": hook.get("application") or application,
                    "pipeline": hook["pipelineId"],
                    "pipelineParameters": {**(hook.get("pipelineParameters") or {}), "percentage": percentage},
                }
            )
        steps += _pause(stage, "delayBeforeDisableSec", f"Wait at {percentage}%")
        if old and percentage < 100:
            steps.append(
                _step(
                    "disableServerGroup",
                    f"Disable {percentage}% of {old}",
                    where,
                    serverGroupName=old,
                    desiredPercentage=percentage,
                )
            )
    return [*steps, *_clean_up(stage, where)]


def target_capacity(stage: Stage) -> dict[str, int]:
    """The capacity the create asked for (``capacity``, or the rolling create's ``targetCapacity``)."""
    value: Any = stage.context.get("targetCapacity") or stage.context.get("capacity") or {}
    parts = {part: _number(value.get(part)) if isinstance(value, dict) else None for part in ("min", "max", "desired")}
    desired = int(parts["desired"] if parts["desired"] is not None else 1)
    return {
        "min": int(parts["min"] if parts["min"] is not None else desired),
        "max": int(parts["max"] if parts["max"] is not None else desired),
        "desired": desired,
    }


def carried(stage: Stage, *keys: str) -> Json:
    """The create's settings a step needs too (how long to wait for instances)."""
    return {key: stage.context[key] for key in keys if key in stage.context}


TASK_SETTINGS = ("taskHeartbeatTimeoutMs", "taskRetries", "taskRetryBackoffMs", "waitForUpTimeoutSeconds")
"""Settings of the create that its strategy's steps (Clouddriver tasks too) inherit."""


def _step(stage_type: str, name: str, where: Json, **context: Any) -> Json:
    return {"type": stage_type, "name": name, **where, **context}


def _inherit(stage: Stage, steps: list[Json]) -> list[Json]:
    inherited = carried(stage, *TASK_SETTINGS)
    return [step if step["type"] in ("wait", "pipeline") else {**inherited, **step} for step in steps]


def _pause(stage: Stage, key: str, name: str) -> list[Json]:
    seconds = _number(stage.context.get(key))
    return [{"type": "wait", "name": name, "waitTime": seconds}] if seconds else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
