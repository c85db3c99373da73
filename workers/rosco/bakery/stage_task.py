"""Rosco's side of one ``Bake in <region>`` stage: Orca's ``CreateBakeTask`` and ``MonitorBakeTask``.

Orca sends ``orca.RunExternalTask`` (stage type ``bake``) with the stage's context; the
BakeRequest is built from it as Orca builds it: ``package``, ``baseOs``, ``baseLabel`` (default
``release``), ``vmType``, ``storeType``, ``cloudProviderType``, ``templateFileName``,
``varFileName``, ``extendedAttributes``, ``amiName``, ``amiSuffix``, ``buildInfoUrl`` (else the
trigger's build), ``baseAmi``, ``accountName``, and ``rebake`` (the stage's or the trigger's). The
bake's id is derived from the task attempt, so a redelivered attempt finds its bake; an earlier
identical bake answers (the cache). The task is answered when the bake ends (by
:mod:`.runner`), at once when the cache holds a finished one; meanwhile heartbeats carry the
queue position and Packer's last line. The stage's end while the bake is incomplete
(``orca.stage.completed``: the execution cancelled, the stage timed out) cancels the bake unless
another stage still waits for it (:meth:`BakeryHandlers.release`), as Igor stops a ``jenkins``
stage's build.
"""

from __future__ import annotations

import hashlib

import structlog
from pydantic import ValidationError

from bus.context import MessageContext
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask, StageCompleted
from schemas.rosco import BakeRequestBody, BakeWaiter, RoscoTaskCompleted, RoscoTaskHeartbeat
from workers.rosco.bakery.handlers import BakeryHandlers
from workers.rosco.bakery.recipe import BakeRefused
from workers.rosco.bakery.runner import answer_waiters

log = structlog.get_logger("gennaker.rosco.bakery")
STAGE_TYPE = "bake"
FIELDS = {
    "package": "package_name",
    "baseOs": "base_os",
    "baseLabel": "base_label",
    "baseName": "base_name",
    "baseAmi": "base_ami",
    "vmType": "vm_type",
    "storeType": "store_type",
    "cloudProviderType": "cloud_provider_type",
    "templateFileName": "template_file_name",
    "varFileName": "var_file_name",
    "amiName": "ami_name",
    "amiSuffix": "ami_suffix",
    "buildInfoUrl": "build_info_url",
    "enhancedNetworking": "enhanced_networking",
    "accountName": "account_name",
    "upgrade": "upgrade",
    "instanceType": "instance_type",
}
"""Orca's context keys and the BakeRequest fields they fill."""


def bake_id_of(task: RunExternalTask) -> str:
    """The bake one task attempt starts, the same on every redelivery."""
    identity = f"{task.execution_id}/{task.stage_id}/{task.task_id}/{task.attempt}"
    return hashlib.sha256(identity.encode()).hexdigest()[:26]


def bake_request(task: RunExternalTask) -> BakeRequestBody:
    """The BakeRequest of the stage's context (see the module docstring)."""
    stage = task.context
    fields: Json = {field: stage[key] for key, field in FIELDS.items() if stage.get(key) not in (None, "")}
    fields.setdefault("base_label", "release")
    if "cloud_provider_type" not in fields and isinstance(stage.get("cloudProvider"), str):
        fields["cloud_provider_type"] = stage["cloudProvider"]
    attributes = stage.get("extendedAttributes") or {}
    if not isinstance(attributes, dict):
        raise BakeRefused("extendedAttributes must be an object of names to values", "extendedAttributes")
    fields["extended_attributes"] = {str(k): str(v) for k, v in attributes.items()}
    build = task.trigger.get("buildInfo") if isinstance(task.trigger.get("buildInfo"), dict) else {}
    if build:
        fields.setdefault("build_info_url", build.get("url"))
        if build.get("number") is not None:
            fields["build_number"] = str(build["number"])
        if build.get("name"):
            fields["job"] = str(build["name"])
        scm = build.get("scm") if isinstance(build.get("scm"), list) else []
        if scm and isinstance(scm[0], dict) and scm[0].get("sha1"):
            fields["commit_hash"] = str(scm[0]["sha1"])[:128]
    fields["user"] = task.authority.user
    fields["spinnaker_execution_id"] = task.execution_id
    try:
        return BakeRequestBody.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as invalid:
        first = invalid.errors()[0]
        names = {field: key for key, field in FIELDS.items()}
        field = names.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else None
        raise BakeRefused(f"{field}: {first['msg']}", field) from None


class BakeStageTask:
    """Runs Orca's ``bake`` tasks through :class:`BakeryHandlers`."""

    def __init__(self, handlers: BakeryHandlers, max_concurrent: int) -> None:
        self.handlers = handlers
        self.max_concurrent = max_concurrent

    async def run(self, task: RunExternalTask, context: MessageContext) -> None:
        """Start (or find) the bake and answer now if it is done, else when it ends."""
        waiter = BakeWaiter(
            execution_id=task.execution_id,
            stage_id=task.stage_id,
            task_id=task.task_id,
            attempt=task.attempt,
            application=task.application,
        )
        region = str(task.context.get("region") or "")
        try:
            if not region:
                raise BakeRefused("a bake needs 'region' (each 'Bake in <region>' stage has one)", "region")
            request = bake_request(task)
            rebake = bool(task.context.get("rebake")) or bool(task.trigger.get("rebake"))
            bake, _ = await self.handlers.request_bake(
                bake_id=bake_id_of(task),
                region=region,
                application=task.application,
                request=request,
                rebake=rebake,
                authority=task.authority,
                waiter=waiter,
                context=context,
            )
        except BakeRefused as refused:
            answer = RoscoTaskCompleted(
                execution_id=task.execution_id,
                stage_id=task.stage_id,
                task_id=task.task_id,
                attempt=task.attempt,
                application=task.application,
                status="TERMINAL",
                error=refused.reason,
            )
            await context.publish(answer, subject=task.execution_id)
            return
        if bake.get("state") not in ("PENDING", "RUNNING"):
            waiting = {**bake, "waiters": [waiter.model_dump()]}
            logs = await self.handlers.store.log_text(str(bake["_id"]))
            await answer_waiters(context.bus, waiting, logs, announce=False)  # it ended before: announced then
            return
        status = await self.handlers.status(bake)
        ahead = status.get("queuePosition")
        progress = (
            f"Bake {bake['_id']} queued: {ahead} ahead (at most {self.max_concurrent} Packer processes at once)"
            if bake.get("state") == "PENDING"
            else f"Bake {bake['_id']} running"
        )
        beat = RoscoTaskHeartbeat(
            execution_id=task.execution_id,
            stage_id=task.stage_id,
            task_id=task.task_id,
            attempt=task.attempt,
            application=task.application,
            progress=progress,
            context={"status": status, "bakeId": bake["_id"]},
        )
        await context.publish(beat, subject=task.execution_id)

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        """A ``bake`` stage ended: it waits no more, and its bake stops if nobody else waits."""
        if event.stage_type != STAGE_TYPE:
            return
        for bake_id in await self.handlers.release(event.execution_id, event.stage_id, context):
            log.info("rosco.bake_canceled_with_stage", bake_id=bake_id, execution=event.execution_id)
