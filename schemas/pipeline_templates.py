"""Spinnaker's managed pipeline templates (schema "v2"): Front50's messages and the rules both sides share.

A *template* is ``{schema: "v2", id, metadata: {name, description, owner, scopes}, protect,
variables: [{name, type, defaultValue, description, nullable}], pipeline: {...}}``. Front50 stores
each save under its tag (``id:stable``), under ``id:latest`` and under its content digest
(``id@sha256:<hex>``), as Spinnaker's ``V2PipelineTemplateController`` does. A pipeline config of
``type: templatedPipeline`` (``schema: "v2"``) names one with ``template: {artifactAccount,
reference: "spinnaker://<id>[:<tag> | @sha256:<digest>]", type: "front50/pipelineTemplate"}``;
Orca renders it when the pipeline starts and for ``POST /v2/pipelineTemplates/plan``.

Who may see or change a template: a template whose ``metadata.scopes`` names exactly one
application belongs to it (Gate files its tasks there too); any other belongs to the application
``spinnaker`` (Gate's default), so an operator guards global templates by giving an application
called ``spinnaker`` permissions. Reading needs READ on that application, saving and deleting WRITE.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority
from schemas.base import Command, Event, Query, Reply
from schemas.json_types import Json
from schemas.registry import message

SCHEMA = "v2"
TEMPLATED_PIPELINE = "templatedPipeline"
ARTIFACT_TYPE = "front50/pipelineTemplate"
REFERENCE_PREFIX = "spinnaker://"
DEFAULT_APPLICATION = "spinnaker"
"""The application a template not scoped to exactly one application belongs to (Gate's default)."""
VALID_TAGS = ("latest", "stable", "unstable", "experimental", "test", "canary")
"""The tags Front50 accepts (Spinnaker's ``VALID_TEMPLATE_TAGS``)."""
VARIABLE_TYPES = ("object", "string", "int", "float", "bool", "list")
"""The variable types Orca checks values against; ``object`` (the default) takes anything."""
TEMPLATE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
VARIABLE_NAME = re.compile(r"^[a-zA-Z0-9_]{1,128}$")
"""Spinnaker's ``TEMPLATE_VALID_VARIABLE_NAME_REGEX`` (with a length bound)."""
MAX_VARIABLES = 100
MAX_SCOPES = 100
ACCOUNTING = ("digest", "tag", "updateTs", "lastModifiedBy")
"""What Front50 adds to a stored template; none of it counts towards the digest."""


@dataclass(frozen=True)
class Reference:
    """A parsed ``spinnaker://`` reference: the template id and at most one of tag and digest."""

    id: str
    tag: str | None = None
    digest: str | None = None

    def decorated(self) -> str:
        """The id Front50 stores this version under."""
        return decorated_id(self.id, self.tag, self.digest)


def decorated_id(template_id: str, tag: str | None = None, digest: str | None = None) -> str:
    """``id@sha256:<digest>``, ``id:<tag>`` or ``id`` (Front50's ``PipelineTemplate.getId``)."""
    if digest:
        return f"{template_id}@sha256:{digest}"
    if tag:
        return f"{template_id}:{tag}"
    return template_id


def parse_reference(reference: object) -> Reference | None:
    """The template a ``template.reference`` names, or ``None`` when it is not a ``spinnaker://`` one."""
    if not isinstance(reference, str) or not reference.startswith(REFERENCE_PREFIX):
        return None
    rest = reference[len(REFERENCE_PREFIX) :].strip()
    if "@sha256:" in rest:
        template_id, digest = rest.split("@sha256:", 1)
        return Reference(template_id, digest=digest) if TEMPLATE_ID.match(template_id) and digest else None
    template_id, _, tag = rest.partition(":")
    return Reference(template_id, tag=tag or None) if TEMPLATE_ID.match(template_id) else None


def is_templated(pipeline: Json) -> bool:
    """Whether a pipeline config is a v2 templated pipeline (Orca's ``V2Util.isV2Pipeline``)."""
    return pipeline.get("type") == TEMPLATED_PIPELINE and pipeline.get("schema") == SCHEMA


def owning_application(template: Json) -> str:
    """The application whose permissions guard ``template`` (the module docstring)."""
    metadata = template.get("metadata")
    scopes = metadata.get("scopes") if isinstance(metadata, dict) else None
    if isinstance(scopes, list) and len(scopes) == 1 and isinstance(scopes[0], str) and scopes[0].strip():
        return scopes[0].strip()
    return DEFAULT_APPLICATION


def content_digest(template: Json) -> str:
    """The SHA-256 of ``template``'s canonical JSON (sorted keys, no spaces), Front50's accounting left out."""
    content = {key: value for key, value in template.items() if key not in ACCOUNTING}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def type_name(value: object) -> str:
    """How a type mismatch names the type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def fits(variable_type: str, value: Any) -> bool:
    """Whether ``value`` is of the declared ``variable_type`` (Orca's
    ``V2DefaultVariableAssignmentTransform``): an ``int`` may arrive as a float with no fraction."""
    expected = variable_type.lower()
    if expected == "object":
        return True
    if expected == "int":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "float":
        return isinstance(value, float | int) and not isinstance(value, bool)
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "list":
        return isinstance(value, list)
    return False


# --- messages ---------------------------------------------------------------------------


@message
class SavePipelineTemplate(Command):
    """Create (``update_id`` unset) or update a v2 pipeline template, stored under ``tag`` (or its own
    ``tag``), ``latest`` and its digest. Creating a version that exists is refused with 409."""

    message_type: ClassVar[str] = "front50.SavePipelineTemplate"
    template: Json
    tag: str | None = Field(None, max_length=64)
    update_id: str | None = Field(None, max_length=128, description="the id being updated (Gate's /update/{id})")
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class DeletePipelineTemplate(Command):
    """Delete one version (``tag`` or ``digest``) or, with neither, every version of a template.

    Refused (400) while a pipeline config refers to what would be deleted."""

    message_type: ClassVar[str] = "front50.DeletePipelineTemplate"
    id: str = Field(min_length=1, max_length=128)
    tag: str | None = Field(None, max_length=64)
    digest: str | None = Field(None, max_length=64)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class PipelineTemplateSaved(Event):
    """A template version was stored; ``template`` as stored under its tag (with ``tag`` and ``digest``)."""

    message_type: ClassVar[str] = "front50.pipelineTemplate.saved"
    template: Json
    created: bool


@message
class PipelineTemplateDeleted(Event):
    """Template versions were deleted: their decorated ids."""

    message_type: ClassVar[str] = "front50.pipelineTemplate.deleted"
    id: str
    deleted: list[str]


@message
class PipelineTemplateFound(Reply):
    """One template version, or ``None``; ``refused`` says why the asker may not read it."""

    message_type: ClassVar[str] = "front50.PipelineTemplateFound"
    template: Json | None
    refused: str | None = None


@message
class GetPipelineTemplate(Query):
    """One template version by id and ``tag`` or ``digest``; with neither, the untagged save, else ``latest``."""

    message_type: ClassVar[str] = "front50.GetPipelineTemplate"
    reply_model: ClassVar[type[Reply]] = PipelineTemplateFound
    id: str = Field(min_length=1, max_length=128)
    tag: str | None = Field(None, max_length=64)
    digest: str | None = Field(None, max_length=64)
    authority: Authority = Field(description=ACTS_FOR)


@message
class PipelineTemplateList(Reply):
    """Stored template versions (each with its ``tag`` and ``digest``) the asker may read."""

    message_type: ClassVar[str] = "front50.PipelineTemplateList"
    templates: list[Json]


@message
class ListPipelineTemplates(Query):
    """Every stored template version the asker may read; with ``scopes``, those whose
    ``metadata.scopes`` match one (Front50's ``containsAnyScope``)."""

    message_type: ClassVar[str] = "front50.ListPipelineTemplates"
    reply_model: ClassVar[type[Reply]] = PipelineTemplateList
    scopes: list[str] = Field(default_factory=list, max_length=MAX_SCOPES)
    authority: Authority = Field(description=ACTS_FOR)


@message
class TemplateDependents(Reply):
    """The pipeline configs whose ``template.reference`` names a template."""

    message_type: ClassVar[str] = "front50.TemplateDependents"
    pipelines: list[Json]


@message
class ListTemplateDependents(Query):
    """The templated pipeline configs that use template ``id`` (any version)."""

    message_type: ClassVar[str] = "front50.ListTemplateDependents"
    reply_model: ClassVar[type[Reply]] = TemplateDependents
    id: str = Field(min_length=1, max_length=128)


@message
class TemplatedPipelinePlan(Reply):
    """A templated pipeline config rendered (``pipeline``), or why it cannot be (``status``, ``reason``,
    ``field`` naming the config's part to fix)."""

    message_type: ClassVar[str] = "orca.TemplatedPipelinePlan"
    pipeline: Json | None = None
    status: int = 200
    reason: str | None = None
    field: str | None = None


@message
class PlanTemplatedPipeline(Query):
    """Render a ``templatedPipeline`` config as Orca would start it (``POST /v2/pipelineTemplates/plan``)."""

    message_type: ClassVar[str] = "orca.PlanTemplatedPipeline"
    reply_model: ClassVar[type[Reply]] = TemplatedPipelinePlan
    pipeline: Json
    trigger: Json = Field(default_factory=dict)
    authority: Authority = Field(description=ACTS_FOR)
