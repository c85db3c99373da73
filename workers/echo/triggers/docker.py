"""Docker pushes against ``docker`` triggers, as Echo's ``DockerEventHandler``: those webhooks bring
(``/webhooks/docker/{source}``, :mod:`workers.echo.triggers.webhooks`) and those Igor's docker
monitor announces (``igor.docker.image.pushed``, :class:`DockerEventTriggers`).

A trigger ``{type: docker, account, registry, repository, tag}`` matches a push
(:class:`schemas.trigger_artifacts.DockerPush`) when its ``repository`` is the push's, its
``account`` is the push's (a registry's own notification names no account: then its ``registry``
must be the push's host), and its ``tag`` — a regex on the whole tag, trimmed — matches the pushed
tag; a trigger without ``tag`` fires on every tag but ``latest``. A push that names only a digest
fires no docker trigger (Echo's rule: the event must report a tag). A trigger tag that is not a
valid regex, or one that could backtrack without end (:mod:`schemas.safe_regex`), matches nothing,
and a webhook's ``echo.webhook.processed`` says so for that pipeline (:func:`tag_refusal`).

The execution's trigger gets ``tag``, ``digest`` and the push's ``docker/image`` artifact in
``artifacts``, which the pipeline's ``expectedArtifacts`` bind to and ``deployManifest`` puts in
the manifests' images.
"""

from __future__ import annotations

import structlog

from bus import Envelope, MessageContext
from schemas import safe_regex
from schemas.base import cloudevent_type
from schemas.igor import DockerImagePushed
from schemas.json_types import Json
from schemas.trigger_artifacts import DockerPush
from workers.echo.triggers.artifact_constraints import artifact_refusal
from workers.echo.triggers.keys import fire_key
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs, execution_trigger, start_pipeline

log = structlog.get_logger("gennaker.echo.triggers")

IMAGE_PUSHED = cloudevent_type(DockerImagePushed.message_type, DockerImagePushed.message_version)


def _names_push(trigger: Json, push: DockerPush) -> bool:
    """Whether ``trigger`` watches the account (or registry) and repository ``push`` is of."""
    if push.tag is None or not trigger.get("account") or not trigger.get("repository"):
        return False
    if str(trigger["repository"]) != push.repository:
        return False
    if push.account is not None:
        return str(trigger["account"]) == push.account
    return str(trigger.get("registry") or "") == push.registry


def tag_refusal(trigger: Json, push: DockerPush) -> str | None:
    """Why a trigger that watches ``push``'s repository can never match its tag: a ``tag`` that
    is not a valid regex, or one that could backtrack without end; None otherwise."""
    pattern = str(trigger.get("tag") or "").strip()
    if not pattern or not _names_push(trigger, push):
        return None
    try:
        safe_regex.compile_safe(pattern)
    except safe_regex.UnsafePattern as unsafe:
        return f"tag: {unsafe}"
    return None


def push_matches(trigger: Json, push: DockerPush) -> bool:
    """True when the docker ``trigger`` asks for ``push`` (see the module)."""
    if not _names_push(trigger, push) or push.tag is None:
        return False
    pattern = str(trigger.get("tag") or "").strip()
    if not pattern:
        return push.tag != "latest"
    try:
        return safe_regex.fullmatch(pattern, push.tag)
    except safe_regex.UnsafePattern:
        return False


def push_details(push: DockerPush) -> Json:
    """What the execution's trigger gets from ``push`` (Echo's ``atTag`` and the artifact)."""
    details: Json = {"tag": push.tag, "artifacts": [push.artifact()]}
    if push.digest:
        details["digest"] = push.digest
    return details


def _at(digest: str | None) -> str:
    return f"@{digest}" if digest else ""


class DockerEventTriggers:
    """Starts the pipelines whose ``docker`` triggers a tag Igor announced matches.

    The execution is keyed by account, repository, tag (and digest, when the announcement has one)
    and pipeline, timed by the announcement, so a tag announced twice starts each pipeline once,
    and a tag pushed again with another digest starts it again.
    """

    def __init__(self, index: PipelineIndex, identity: RunAs | None = None) -> None:
        self.index = index
        self.identity = identity or RunAs()

    async def handle(self, envelope: Envelope, context: MessageContext) -> None:
        if envelope.type != IMAGE_PUSHED:
            return
        await self.index.ensure_loaded(context.bus)
        event = DockerImagePushed.model_validate(envelope.data)
        push = DockerPush(event.registry, event.repository, event.tag, event.digest, event.account)
        details = push_details(push)
        for config, trigger in list(self.index.triggers("docker")):
            if not push_matches(trigger, push):
                continue
            refusal = artifact_refusal(config, trigger, details["artifacts"])
            if refusal is not None:
                log.info("docker trigger refused", config=config["id"], reason=refusal)
                continue
            key = fire_key(
                f"docker/{event.account}/{event.repository}/{event.tag}{_at(event.digest)}/{config['id']}",
                int(envelope.time.timestamp() * 1000),
            )
            await start_pipeline(
                context,
                config,
                execution_trigger(trigger, **details, eventId=envelope.id),
                key=key,
                trigger_type="docker",
                event_id=envelope.id,
                identity=self.identity,
            )
