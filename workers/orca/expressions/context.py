"""Builds the root an expression in a stage sees, as Orca's ContextParameterProcessor does.

The root is the stage's context with ``execution``, ``trigger`` and ``parameters``
(the trigger's parameters) laid over it, plus ``scmInfo`` from the trigger's build
info and ``templateVariables`` when the pipeline has them. So ``${parameters.env}``,
``${trigger.buildInfo.number}``, ``${execution.id}`` and ``${someContextKey}`` all
resolve at the top level. A name none of those has is looked up in the outputs of the
stage's ancestors, nearest first (:mod:`.ancestors`), as Orca's ``StageContext`` does: after
an ``evaluateVariables`` stage sets ``greeting``, ``${greeting}`` works in any stage after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ancestors import ancestor_outputs


def stage_root(stage: Mapping[str, Any], execution: Mapping[str, Any]) -> dict[str, Any]:
    """The expression root for ``stage`` running in ``execution`` (both as stored JSON).

    The stage's own context, ``execution``, ``trigger``, ``parameters``, ``scmInfo`` and
    ``templateVariables`` win over any ancestor's output of the same name."""
    root: dict[str, Any] = dict(stage.get("context") or {})
    trigger = execution.get("trigger") or {}
    root["execution"] = execution
    root["trigger"] = trigger
    template_variables = execution.get("templateVariables")
    if template_variables:
        root["templateVariables"] = template_variables
    parameters = trigger.get("parameters") if isinstance(trigger, Mapping) else None
    if parameters:
        root["parameters"] = parameters
    else:
        root.setdefault("parameters", {})
    root["scmInfo"] = _scm_info(root.get("buildInfo"), trigger)
    stages = execution.get("stages")
    for key, value in ancestor_outputs(stage, stages if isinstance(stages, list) else []).items():
        root.setdefault(key, value)
    return root


def _scm_info(build_info: Any, trigger: Any) -> Any:
    """Orca's choice of source-control info: the first branch that is not master or develop."""
    scm: Any = None
    if isinstance(build_info, Mapping):
        scm = build_info.get("scm")
    if scm is None and isinstance(trigger, Mapping) and isinstance(trigger.get("buildInfo"), Mapping):
        scm = trigger["buildInfo"].get("scm")
    if not isinstance(scm, list) or not scm:
        return None
    if len(scm) >= 2:
        for entry in scm:
            if isinstance(entry, Mapping) and entry.get("branch") not in ("master", "develop"):
                return entry
    return scm[0]
