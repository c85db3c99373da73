"""Renders a ``templatedPipeline`` config with its v2 template into the pipeline Orca runs.

As Orca's V2 handler chain does (``V2TemplateLoaderHandler`` … ``V2PipelineGenerator``, then
``V2Util.planPipeline``):

* the config's ``variables`` are checked against the template's declarations: values for names the
  template does not declare are dropped, a declared default fills a missing value, a missing value
  of a variable that is not ``nullable`` is an error naming it, and each value must be of its
  declared ``type`` (``int``, ``float``, ``bool``, ``string``, ``list``; ``object`` takes anything);
* the stage graph is the template's with the config's overrides (:mod:`.stages`); a ``protect``-ed
  template refuses any;
* triggers, parameters and notifications are the template's (marked ``inherited``) followed by the
  config's, unless the config's ``exclude`` names them (then only the config's);
  Spinnaker's v1 ``inherit`` is honoured too: when given, what it does not name is not inherited;
* the pipeline takes the config's id, application and name, and ``templateVariables``; then every
  ``${…}`` expression that can be evaluated against ``trigger`` and ``templateVariables`` is, and one
  that refers to a variable without a value is an error naming the variable. Other expressions (those
  that need the running execution) are left for the stages to evaluate when they run; the execution
  keeps ``templateVariables`` for them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from schemas.json_types import Json
from schemas.pipeline_templates import SCHEMA, VARIABLE_TYPES, fits, type_name
from workers.orca.expressions import process
from workers.orca.pipeline_templates.errors import TemplateError
from workers.orca.pipeline_templates.stages import stage_graph

INHERITABLE = {"triggers": "triggers", "parameters": "parameterConfig", "notifications": "notifications"}
"""The config's list of each inheritable kind, and the pipeline's key for it."""
_REFERENCED = re.compile(r"templateVariables\s*(?:\.\s*([A-Za-z0-9_]+)|\[\s*['\"]([A-Za-z0-9_]+)['\"]\s*\])")


def render(config: Json, template: Json, trigger: Json | None = None) -> Json:
    """The pipeline ``config`` (a ``templatedPipeline``) stands for; :class:`TemplateError` if it cannot be."""
    if config.get("schema") != SCHEMA:
        raise TemplateError(
            f"config schema version is unsupported: expected {SCHEMA!r}, got {config.get('schema')!r}", "schema"
        )
    if not isinstance(config.get("application"), str) or not config["application"].strip():
        raise TemplateError("Missing 'application' configuration", "application")
    if template.get("schema") != SCHEMA:
        raise TemplateError(
            f"template schema version is unsupported: expected {SCHEMA!r}, got {template.get('schema')!r}",
            "template.reference",
        )
    config_stages = _objects(config.get("stages"), "stages")
    if template.get("protect") is True and config_stages:
        raise TemplateError(
            "Modification of the stage graph (adding, removing, editing) is disallowed: the template being used "
            "has marked itself as protected",
            "stages",
        )
    variables = template_variables(template, config.get("variables"))
    source = template.get("pipeline")
    pipeline: Json = copy.deepcopy(source) if isinstance(source, dict) else {}
    pipeline["stages"] = stage_graph(_objects(pipeline.get("stages"), "template pipeline.stages"), config_stages)
    pipeline["id"] = config.get("id") or config.get("pipelineConfigId") or "unknown"
    pipeline["application"] = config["application"]
    pipeline["name"] = config.get("name") or "Unnamed Execution"
    pipeline.setdefault("limitConcurrent", config.get("limitConcurrent", True))
    pipeline.setdefault("keepWaitingPipelines", config.get("keepWaitingPipelines", False))
    for key in ("description", "disabled", "spelEvaluator"):
        if key in config and key not in pipeline:
            pipeline[key] = config[key]
    excluded = _kinds(config, "exclude")
    inherited = _kinds(config, "inherit") if "inherit" in config else set(INHERITABLE)
    for kind, key in INHERITABLE.items():
        own = _objects(config.get(kind), kind)
        from_template = [] if kind in excluded or kind not in inherited else _objects(pipeline.get(key), key)
        merged = [{**item, "inherited": True} for item in from_template]
        pipeline[key] = merged + [item for item in own if item not in merged]
    pipeline["templateVariables"] = variables
    return _evaluated(pipeline, variables, trigger or {})


def template_variables(template: Json, given: object) -> Json:
    """The variables' values (the module docstring); :class:`TemplateError` naming the first bad one."""
    if given is not None and not isinstance(given, dict):
        raise TemplateError("must be an object of variable names to values", "variables")
    declared = [item for item in template.get("variables") or [] if isinstance(item, dict) and item.get("name")]
    names = [str(item["name"]) for item in declared]
    values: dict[str, Any] = {name: value for name, value in (given or {}).items() if name in names}
    for variable in declared:
        name = str(variable["name"])
        if name not in values and variable.get("defaultValue") is not None:
            values[name] = copy.deepcopy(variable["defaultValue"])
    missing = [str(v["name"]) for v in declared if str(v["name"]) not in values and v.get("nullable") is not True]
    if missing:
        raise TemplateError(f"Missing variable values for: {', '.join(missing)}", f"variables.{missing[0]}")
    for variable in declared:
        name = str(variable["name"])
        declared_type = str(variable.get("type") or "object")
        value = values.get(name)
        if value is None and name in values and variable.get("nullable") is not True:
            raise TemplateError(
                f"variable {name!r} supplied value is null but variable is not nullable", f"variables.{name}"
            )
        if declared_type.lower() not in VARIABLE_TYPES:
            raise TemplateError(f"variable {name!r} has unknown type {declared_type!r}", "template.reference")
        if value is not None and not fits(declared_type, value):
            raise TemplateError(
                f"Incorrectly defined variable(s): {name} (expected type {declared_type!r} found type "
                f"{type_name(value)!r})",
                f"variables.{name}",
            )
    return values


def _evaluated(pipeline: Json, variables: Json, trigger: Json) -> Json:
    """``pipeline`` with what can be evaluated now evaluated (``V2Util.planPipeline``)."""
    processed = process(pipeline, {"trigger": trigger, "templateVariables": variables})
    for expression in processed.summary:
        referenced = [a or b for a, b in _REFERENCED.findall(expression)]
        if not referenced:
            continue
        unset = [name for name in referenced if variables.get(name) is None]
        if unset:
            raise TemplateError(
                f"Missing template variable values for the following variables: {', '.join(dict.fromkeys(unset))}",
                f"variables.{unset[0]}",
            )
    result = processed.value
    assert isinstance(result, dict)
    return result


def _objects(value: object, field: str) -> list[Json]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TemplateError("must be a list of objects", field)
    return list(value)


def _kinds(config: Json, field: str) -> set[str]:
    value = config.get(field) or []
    if not isinstance(value, list):
        raise TemplateError("must be a list of names (triggers, parameters, notifications)", field)
    return {str(item) for item in value}
