"""Front50's v2 pipeline templates: save (create or update) and delete versions, read them, find their users.

Versions are stored as Spinnaker's ``V2PipelineTemplateController`` stores them, one document per
decorated id in ``front50_pipeline_templates``: a save under tag ``stable`` writes ``id:stable``,
``id:latest`` and ``id@sha256:<digest>`` (the digest of its content, so a reference by digest
never changes meaning); a save without a tag writes ``id`` and ``id:latest``. Each write carries
the command's id, so a redelivered save rewrites nothing and a create is not refused by its own
first attempt. Who may read or change a template is :func:`schemas.pipeline_templates.owning_application`'s
permissions, checked here whoever asks.
"""

from __future__ import annotations

from bus.context import MessageContext
from schemas import Event
from schemas.authority import Authority, Permission, can
from schemas.json_types import Json
from schemas.limits import PipelineLimits
from schemas.permissions import permissions_of
from schemas.pipeline_templates import (
    TEMPLATED_PIPELINE,
    DeletePipelineTemplate,
    GetPipelineTemplate,
    ListPipelineTemplates,
    ListTemplateDependents,
    PipelineTemplateDeleted,
    PipelineTemplateFound,
    PipelineTemplateList,
    PipelineTemplateSaved,
    Reference,
    SavePipelineTemplate,
    TemplateDependents,
    content_digest,
    decorated_id,
    owning_application,
    parse_reference,
)
from workers.front50.access import Front50Access
from workers.front50.bodies import copy_body
from workers.front50.errors import invalid, missing, stale
from workers.front50.once import answer_once
from workers.front50.store import Document, Front50Store
from workers.front50.template_validation import check_tag, check_template


def _keys(body: Json) -> Document:
    return {"templateId": str(body["id"]), "nameKey": str(body["id"]).lower()}


class PipelineTemplateHandlers:
    """The template messages' handlers; a template's pipeline is bounded by ``limits`` like any pipeline."""

    def __init__(self, store: Front50Store, access: Front50Access, limits: PipelineLimits) -> None:
        self.store = store
        self.access = access
        self.limits = limits

    async def may_read(self, authority: Authority, template: Json) -> bool:
        """Whether ``authority`` holds READ on the application that owns ``template``."""
        judging = await self.access.judging(owning_application(template))
        return can(authority, permissions_of(judging), Permission.READ)

    async def save_template(self, command: SavePipelineTemplate, context: MessageContext) -> None:
        """Store a template version under its tag, ``latest`` and its digest (the module docstring)."""
        command_id = context.envelope.id
        collection = self.store.pipeline_templates

        async def decide() -> Event:
            template = {k: v for k, v in copy_body(command.template).items() if k not in ("digest", "updateTs")}
            tag = command.tag or template.pop("tag", None) or None
            template.pop("tag", None)
            template.pop("lastModifiedBy", None)
            check_tag(tag)
            template.setdefault("schema", "v2")  # Gate's validateSchema
            if command.update_id is not None:
                if template.get("id") not in (None, command.update_id):
                    raise invalid(
                        f"the body's id {template.get('id')!r} is not {command.update_id!r}, the id updated", "id"
                    )
                template["id"] = command.update_id
            check_template(template, self.limits)
            template_id = str(template["id"])
            application = owning_application(template)
            await self.access.require_write(command.authority, application, field="metadata.scopes")
            decorated = decorated_id(template_id, tag)
            existing = await self.store.find_document(collection, {"_id": decorated})
            if existing is not None:
                if command.update_id is None and existing.get("lastCommand") != command_id:
                    raise stale(f"A pipeline template with the id {decorated} already exists", "id")
                stored_owner = owning_application(await self.store.find(collection, {"_id": decorated}) or {})
                if stored_owner.lower() != application.lower():
                    await self.access.require_write(command.authority, stored_owner, field="metadata.scopes")
            digest = content_digest(template)

            def version(with_tag: str | None) -> Json:
                body = {**template, "digest": digest, "lastModifiedBy": command.authority.user}
                return {**body, "tag": with_tag} if with_tag else body

            async def write(entity_id: str, body: Json) -> Json:
                def build(current: Json | None, update_ts: str) -> Json:
                    return {**body, "updateTs": update_ts}

                saved = await self.store.save(
                    collection, entity_id=entity_id, build=build, keys=_keys, command_id=command_id
                )
                return saved.body

            created = existing is None
            stored = await write(decorated, version(tag))
            if tag != "latest":
                await write(decorated_id(template_id, "latest"), version("latest"))
            if await self.store.find_document(collection, {"_id": decorated_id(template_id, digest=digest)}) is None:
                await write(decorated_id(template_id, digest=digest), version(tag))
            return PipelineTemplateSaved(template=stored, created=created)

        await answer_once(self.store, context, command, decide)

    async def delete_template(self, command: DeletePipelineTemplate, context: MessageContext) -> None:
        """Delete one version, or every version; refused while a pipeline config uses it."""
        collection = self.store.pipeline_templates

        async def decide() -> Event:
            if command.tag and command.digest:
                raise invalid("Cannot delete a pipeline template by 'tag' and 'digest' at once; give one", "digest")
            if command.tag or command.digest:
                ids = [decorated_id(command.id, command.tag, command.digest)]
                found = [body for body in [await self.store.find(collection, {"_id": ids[0]})] if body is not None]
            else:
                found = await self.store.all(collection, {"templateId": command.id})
                ids = [decorated_id(command.id, body.get("tag"), None) for body in found]
                ids += [decorated_id(command.id, digest=str(body["digest"])) for body in found if body.get("digest")]
            if not found:
                raise missing(f"no pipeline template {decorated_id(command.id, command.tag, command.digest)}", "id")
            for owner in {owning_application(body).lower() for body in found}:
                await self.access.require_write(command.authority, owner, field="id")
            users = [
                str(pipeline.get("id"))
                for pipeline, reference in await self._users(command.id)
                if _deletes(reference, command.tag, command.digest)
            ]
            if users:
                raise invalid(f"The following pipeline configs depend on this template: {', '.join(users)}", "id")
            return PipelineTemplateDeleted(id=command.id, deleted=sorted(set(ids)))

        async def apply(event: Event) -> None:
            assert isinstance(event, PipelineTemplateDeleted)
            await self.store.delete(collection, {"_id": {"$in": event.deleted}})

        await answer_once(self.store, context, command, decide, apply)

    async def get_template(self, query: GetPipelineTemplate, context: MessageContext) -> PipelineTemplateFound:
        """One version; without a tag or digest the untagged save, else ``latest``."""
        if query.tag and query.digest:
            return PipelineTemplateFound(template=None, refused="give one of tag and digest, not both")
        collection = self.store.pipeline_templates
        found = await self.store.find(collection, {"_id": decorated_id(query.id, query.tag, query.digest)})
        if found is None and not (query.tag or query.digest):
            found = await self.store.find(collection, {"_id": decorated_id(query.id, "latest")})
        if found is not None and not await self.may_read(query.authority, found):
            refused = (
                f"access denied: {query.authority.described()} lacks READ permission on application "
                f"{owning_application(found)!r}, which owns pipeline template {query.id!r}"
            )
            return PipelineTemplateFound(template=None, refused=refused)
        return PipelineTemplateFound(template=found)

    async def list_templates(self, query: ListPipelineTemplates, context: MessageContext) -> PipelineTemplateList:
        """Every stored version (with ``tag`` and ``digest``) the asker may read, matching ``scopes`` if given."""
        wanted = {scope.strip().lower() for scope in query.scopes if scope.strip()}
        readable: dict[str, bool] = {}
        shown: list[Json] = []
        for template in await self.store.all(self.store.pipeline_templates):
            metadata = template.get("metadata") or {}
            scopes = {str(scope).lower() for scope in metadata.get("scopes") or []}
            if wanted and not wanted & scopes:
                continue
            owner = owning_application(template).lower()
            if owner not in readable:
                readable[owner] = await self.may_read(query.authority, template)
            if readable[owner]:
                shown.append(template)
        return PipelineTemplateList(templates=shown)

    async def list_dependents(self, query: ListTemplateDependents, context: MessageContext) -> TemplateDependents:
        """The pipeline configs whose ``template.reference`` names template ``id``."""
        return TemplateDependents(pipelines=[pipeline for pipeline, _ in await self._users(query.id)])

    async def _users(self, template_id: str) -> list[tuple[Json, Reference]]:
        users: list[tuple[Json, Reference]] = []
        for pipeline in await self.store.all(self.store.pipelines):
            if pipeline.get("type") != TEMPLATED_PIPELINE or not isinstance(pipeline.get("template"), dict):
                continue
            reference = parse_reference(pipeline["template"].get("reference"))
            if reference is not None and reference.id == template_id:
                users.append((pipeline, reference))
        return users


def _deletes(reference: Reference, tag: str | None, digest: str | None) -> bool:
    """Whether deleting ``tag`` / ``digest`` (neither: every version) removes what ``reference`` names."""
    if digest:
        return reference.digest == digest
    if tag:
        return reference.tag == tag or (tag == "latest" and reference.tag is None and reference.digest is None)
    return True
