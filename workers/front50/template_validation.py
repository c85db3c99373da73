"""Checks a v2 pipeline template, and a pipeline config that uses one, before Front50 stores it.

Spinnaker stores templates as given and finds most mistakes only when Orca renders them; here a
template whose variables, stages or size Orca could not use is refused at save time with a 400
naming the field (``variables[1].defaultValue``), as :mod:`workers.front50.validation` does for
pipelines. What only rendering can find (a missing variable value, an unknown inject target) stays
Orca's to report.
"""

from __future__ import annotations

from schemas.json_types import Json
from schemas.limits import PipelineLimits, pipeline_problem
from schemas.pipeline_templates import (
    MAX_SCOPES,
    MAX_VARIABLES,
    SCHEMA,
    TEMPLATE_ID,
    VALID_TAGS,
    VARIABLE_NAME,
    VARIABLE_TYPES,
    fits,
    type_name,
)
from workers.front50.errors import invalid
from workers.front50.validation import Problems, _check_stages, _is_text, _objects


def check_tag(tag: str | None) -> None:
    """400 unless ``tag`` is unset or one of Spinnaker's tags."""
    if tag is not None and tag not in VALID_TAGS:
        raise invalid(f"{tag!r} is not a supported tag; a template tag must be one of {list(VALID_TAGS)}", "tag")


def check_template(template: Json, limits: PipelineLimits) -> None:
    """Refuse a template Orca could not render, or one over ``limits`` (as its pipeline would be)."""
    problems = Problems()
    template_id = template.get("id")
    if not isinstance(template_id, str) or not TEMPLATE_ID.match(template_id):
        problems.add("id", "a pipeline template requires an id of letters, digits, '.', '_' or '-' (at most 128)")
    if template.get("schema") != SCHEMA:
        problems.add("schema", f"the pipeline template schema must be {SCHEMA!r}, not {template.get('schema')!r}")
    _check_metadata(template.get("metadata"), problems)
    if template.get("protect") is not None and not isinstance(template.get("protect"), bool):
        problems.add("protect", "must be true or false")
    _check_variables(template.get("variables"), problems)
    pipeline = template.get("pipeline")
    if not isinstance(pipeline, dict):
        problems.add("pipeline", "a pipeline template requires a pipeline (an object with its stages)")
    else:
        exceeded = pipeline_problem(pipeline, limits)
        if exceeded is not None:
            problems.add(f"pipeline.{exceeded.field}", exceeded.message)
        _check_stages(pipeline.get("stages"), _Prefixed(problems, "pipeline."))
    problems.raise_if_any()


class _Prefixed(Problems):
    """Problems reported under ``prefix`` (a template's stages are at ``pipeline.stages[i]``)."""

    def __init__(self, target: Problems, prefix: str) -> None:
        super().__init__()
        self.target = target
        self.prefix = prefix

    def add(self, path: str, message: str) -> None:
        self.target.add(self.prefix + path, message)


def _check_metadata(metadata: object, problems: Problems) -> None:
    if not isinstance(metadata, dict):
        problems.add("metadata", "a pipeline template requires metadata: {name, description, owner, scopes}")
        return
    if not _is_text(metadata.get("name")):
        problems.add("metadata.name", "a pipeline template requires a name")
    for field in ("name", "description", "owner"):
        value = metadata.get(field)
        if value is not None and not isinstance(value, str):
            problems.add(f"metadata.{field}", "must be a string")
    scopes = metadata.get("scopes")
    if scopes is not None:
        if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
            problems.add("metadata.scopes", "must be a list of application names")
        elif len(scopes) > MAX_SCOPES:
            problems.add("metadata.scopes", f"lists {len(scopes)} scopes; the limit is {MAX_SCOPES}")


def _check_variables(variables: object, problems: Problems) -> None:
    items = list(_objects(variables, "variables", problems))
    if len(items) > MAX_VARIABLES:
        problems.add("variables", f"declares {len(items)} variables; the limit is {MAX_VARIABLES}")
        return
    seen: set[str] = set()
    for position, variable in items:
        path = f"variables[{position}]"
        name = variable.get("name")
        if not isinstance(name, str) or not VARIABLE_NAME.match(name):
            problems.add(f"{path}.name", "a variable needs a name of letters, digits and '_'")
            continue
        if name in seen:
            problems.add(f"{path}.name", f"variable {name!r} is declared twice")
        seen.add(name)
        declared = variable.get("type", "object")
        if not isinstance(declared, str) or declared.lower() not in VARIABLE_TYPES:
            problems.add(f"{path}.type", f"must be one of {list(VARIABLE_TYPES)}")
            continue
        if variable.get("nullable") is not None and not isinstance(variable.get("nullable"), bool):
            problems.add(f"{path}.nullable", "must be true or false")
        default = variable.get("defaultValue")
        if default is not None and not fits(declared, default):
            problems.add(
                f"{path}.defaultValue", f"is a {type_name(default)}, but variable {name!r} is of type {declared!r}"
            )
