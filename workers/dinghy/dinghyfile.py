"""A rendered dinghyfile read as Dinghy reads it: its JSON, the application spec and the pipelines.

``application`` names the application unless ``spec.name`` does; the email defaults to Dinghy's
``unknown@example.org``. Each pipeline's stages must have unique ``refId`` values and name only
existing ones in ``requisiteStageRefIds`` (Dinghy's stage-reference validation). Every failure is
a :class:`DinghyfileError` saying what to fix; a render that is not JSON names the line and
character where it broke, as Dinghy's unmarshaller does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_EMAIL = "unknown@example.org"
MAX_PIPELINES = 500
MAX_NAME = 256


class DinghyfileError(Exception):
    """A rendered dinghyfile Dinghy would not apply."""


@dataclass
class Dinghyfile:
    application: str
    spec: dict[str, Any]
    pipelines: list[dict[str, Any]]
    delete_stale_pipelines: bool = False
    globals: dict[str, Any] = field(default_factory=dict)


def read_dinghyfile(rendered: str) -> Dinghyfile:
    """The dinghyfile in ``rendered`` (a render's text), checked as Dinghy checks it."""
    try:
        document = json.loads(rendered)
    except json.JSONDecodeError as error:
        line_text = rendered.splitlines()[error.lineno - 1] if rendered.splitlines() else ""
        raise DinghyfileError(
            f"malformed json: Error in line {error.lineno}, char {error.colno}: {error.msg}\n{line_text}"
        ) from None
    if not isinstance(document, dict):
        raise DinghyfileError("malformed json: a dinghyfile is one JSON object")
    spec = document.get("spec") or {}
    if not isinstance(spec, dict):
        raise DinghyfileError("spec must be an object (the application's name, email, permissions ...)")
    spec = dict(spec)
    application = document.get("application") or ""
    if not isinstance(application, str):
        raise DinghyfileError("application must be a string")
    spec.setdefault("name", application)
    if not spec.get("name"):
        spec["name"] = application
    if not spec.get("email"):
        spec["email"] = DEFAULT_EMAIL
    name = spec["name"]
    if not isinstance(name, str) or not name:
        raise DinghyfileError("application: the dinghyfile names no application (application or spec.name)")
    if len(name) > MAX_NAME:
        raise DinghyfileError(f"application: longer than {MAX_NAME} characters")
    pipelines = document.get("pipelines") or []
    if not isinstance(pipelines, list) or not all(isinstance(p, dict) for p in pipelines):
        raise DinghyfileError("pipelines must be a list of pipeline objects")
    if len(pipelines) > MAX_PIPELINES:
        raise DinghyfileError(f"pipelines: more than {MAX_PIPELINES}")
    seen: set[str] = set()
    for index, pipeline in enumerate(pipelines):
        pipeline_name = pipeline.get("name")
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise DinghyfileError(f"pipelines[{index}].name: every pipeline needs a name")
        if pipeline_name in seen:
            raise DinghyfileError(f"pipelines[{index}].name: {pipeline_name!r} is named twice")
        seen.add(pipeline_name)
        _check_stage_refs(pipeline_name, pipeline.get("stages") or [])
    globals_ = document.get("globals") or {}
    return Dinghyfile(
        application=name,
        spec=spec,
        pipelines=pipelines,
        delete_stale_pipelines=document.get("deleteStalePipelines") is True,
        globals=globals_ if isinstance(globals_, dict) else {},
    )


def _check_stage_refs(pipeline: str, stages: Any) -> None:
    if not isinstance(stages, list):
        raise DinghyfileError(f"pipeline {pipeline!r}: stages must be a list")
    refs: set[str] = set()
    for stage in stages:
        if not isinstance(stage, dict):
            raise DinghyfileError(f"pipeline {pipeline!r}: every stage must be an object")
        ref = stage.get("refId")
        if ref is None:
            continue
        if str(ref) in refs:
            raise DinghyfileError(f"pipeline {pipeline!r}: duplicate stage refId {ref}")
        refs.add(str(ref))
    for stage in stages:
        for required in stage.get("requisiteStageRefIds") or []:
            if str(required) not in refs:
                raise DinghyfileError(
                    f"pipeline {pipeline!r}: stage {stage.get('refId')!r} requires refId {required!r}, "
                    "which no stage has"
                )
