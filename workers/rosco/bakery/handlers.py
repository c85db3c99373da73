"""One handler per bakery message: create and cancel a bake, read it, list the bake options.

Every bake is judged by the authority it carries: EXECUTE on the application it is for
(Front50's permissions, asked over the bus) and, when the request names ``account_name``, WRITE
on that Clouddriver account; reads need READ on the bake's application (a bake the caller may
not READ is not found). A request Rosco cannot bake (an unknown provider, base OS, region or
template) is refused naming the field, and nothing is stored.

The bake key (:mod:`.recipe`) finds the earlier bake of an identical request: a queued, running
or successful one answers at once (concurrent identical requests find the one that claimed the
key first, so one Packer runs); a failed or canceled one is replaced; ``rebake`` always bakes
anew. A redelivered request (the same ``bake_id``) finds its own bake.

Cancelling: Gate's cancel cancels a bake whoever waits for it. An Orca stage that ends while its
bake is incomplete (the execution cancelled, the stage timed out or skipped) stops waiting for it
(:meth:`BakeryHandlers.release`); the bake is canceled only when no other stage waits for it (the
cache shares one bake between identical requests) and no caller outside Orca asked for it, and
then with the authority of the execution whose stage ended last (EXECUTE on the application).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from bus.context import MessageContext
from schemas.authority import Authority, Permission, can
from schemas.base import Query, Reply
from schemas.clouddriver import AccountFound, GetAccount
from schemas.json_types import Json
from schemas.permissions import application_permissions, permissions_of
from schemas.rosco import (
    BakeAccepted,
    BakeCanceled,
    BakeFound,
    BakeOptionsFound,
    BakeRequestBody,
    BakeWaiter,
    CancelBake,
    CreateBake,
    GetBake,
    ListBakeOptions,
    RoscoCommandRejected,
)
from workers.rosco.bakery.recipe import BakeRefused, Bakery
from workers.rosco.bakery.runner import answer_waiters
from workers.rosco.bakery.shapes import bake_details, bake_status
from workers.rosco.bakery.store import ACTIVE, BakeStore, Document

log = structlog.get_logger("gennaker.rosco.bakery")


def waiting(waiter: BakeWaiter, authority: Authority) -> Document:
    """A stored waiter: the Orca task, and the authority its execution runs with (which cancels the
    bake when that task's stage ends and nobody else waits)."""
    return {**waiter.model_dump(), "authority": authority.model_dump(mode="json")}


def reusable(bake: Document | None) -> bool:
    """Whether an earlier bake answers an identical request (Rosco's ``queryExistingBakes``)."""
    if bake is None:
        return False
    return bake.get("state") in ACTIVE or (bake.get("state") == "COMPLETED" and bake.get("result") == "SUCCESS")


class BakeryHandlers:
    """The bakery's handlers over its store; ``wake`` tells the runner a bake was queued."""

    def __init__(
        self, store: BakeStore, bakery: Bakery, *, wake: Callable[[], None] = lambda: None, query_timeout: float = 5.0
    ) -> None:
        self.store = store
        self.bakery = bakery
        self.wake = wake
        self.query_timeout = query_timeout

    async def _authorize(
        self, authority: Authority, application: str, request: BakeRequestBody | None, context: MessageContext
    ) -> None:
        if authority.admin:
            return
        if authority.anonymous:
            raise BakeRefused("access denied: an anonymous caller may not bake", "application", 403)

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.query_timeout)

        if not can(authority, await application_permissions(ask, application), Permission.EXECUTE):
            raise BakeRefused(
                f"access denied: {authority.described()} lacks EXECUTE permission on application {application!r}",
                "application",
                403,
            )
        if request is not None and request.account_name:
            found = await ask(GetAccount(name=request.account_name))
            account = found.account if isinstance(found, AccountFound) else None
            if account is None:
                raise BakeRefused(f"no account named {request.account_name!r}", "account_name", 404)
            if not can(authority, permissions_of(account), Permission.WRITE):
                raise BakeRefused(
                    f"access denied: {authority.described()} lacks WRITE permission on account "
                    f"{request.account_name!r}",
                    "account_name",
                    403,
                )

    async def _readable(self, authority: Authority, bake: Document, context: MessageContext) -> bool:
        if authority.admin:
            return True

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.query_timeout)

        return can(authority, await application_permissions(ask, str(bake.get("application"))), Permission.READ)

    async def request_bake(
        self,
        *,
        bake_id: str,
        region: str,
        application: str,
        request: BakeRequestBody,
        rebake: bool,
        authority: Authority,
        waiter: BakeWaiter | None,
        context: MessageContext,
    ) -> tuple[Document, bool]:
        """The bake answering the request and whether it was an earlier one; :class:`BakeRefused` if none."""
        await self.store.ensure_indexes()
        own = await self.store.bake(bake_id)
        if own is not None:
            return await self._join(own, waiter, authority) or own, False
        await self._authorize(authority, application, request, context)
        recipe = self.bakery.recipe(region, request)
        key = self.bakery.bake_key(region, request, application)
        for _ in range(5):
            holder = await self.store.claim_key(key, bake_id)
            if holder is None:
                break
            current = await self.store.bake(holder)
            if reusable(current) and not rebake:
                assert current is not None
                joined = await self._join(current, waiter, authority)
                if joined is not None:
                    return joined, True
                continue  # canceled since: the next pass replaces it
            if await self.store.replace_key(key, holder, bake_id):
                break
        else:
            raise BakeRefused(f"the bake key of this request keeps changing hands; try again ({key})", status=409)
        now = int(time.time() * 1000)
        bake: Document = {
            "_id": bake_id,
            "key": key,
            "region": region,
            "application": application,
            "user": authority.user,
            "request": request.model_dump(exclude_none=True),
            "recipe": {
                "name": recipe.name,
                "version": recipe.version,
                "command": recipe.command,
                "cloud_provider": recipe.cloud_provider,
            },
            "state": "PENDING",
            "result": None,
            "created": now,
            "updated": now,
            "waiters": [waiting(waiter, authority)] if waiter else [],
            "held": waiter is None,
            "runs": 0,
        }
        stored = await self.store.insert(bake)
        self.wake()
        return stored, False

    async def _join(self, bake: Document, waiter: BakeWaiter | None, authority: Authority) -> Document | None:
        """Wait for (or hold) an earlier bake; ``None`` when it was canceled meanwhile."""
        if bake.get("state") not in ACTIVE:
            return bake
        return await self.store.add_waiter(str(bake["_id"]), waiting(waiter, authority) if waiter else None)

    async def status(self, bake: Document) -> Json:
        """``BakeStatus``, with the queue position of a PENDING bake."""
        if bake.get("state") == "PENDING":
            bake = {**bake, "queued": await self.store.queued_before(bake)}
        return bake_status(bake)

    async def create_bake(self, command: CreateBake, context: MessageContext) -> None:
        """Gate's ``POST /api/v1/{region}/bake``: answered by ``rosco.bake.accepted`` or a rejection."""
        try:
            bake, cached = await self.request_bake(
                bake_id=command.bake_id,
                region=command.region,
                application=command.application,
                request=command.request,
                rebake=command.rebake,
                authority=command.authority,
                waiter=command.waiter,
                context=context,
            )
        except BakeRefused as refused:
            await self._reject(command.message_type, refused, context)
            return
        accepted = BakeAccepted(application=command.application, status=await self.status(bake), cached=cached)
        await context.publish(accepted, subject=str(bake["_id"]))

    async def cancel_bake(self, command: CancelBake, context: MessageContext) -> None:
        """Cancel an incomplete bake: its Packer is stopped, its waiters told."""
        found = await self.store.bake(command.bake_id)
        try:
            if found is None or not await self._readable(command.authority, found, context):
                raise BakeRefused(f"Unable to locate incomplete bake with id '{command.bake_id}'.", "statusId", 404)
            await self._authorize(command.authority, str(found.get("application")), None, context)
            canceled = await self.store.cancel(command.bake_id, int(time.time() * 1000))
            if canceled is None:
                raise BakeRefused(f"Unable to locate incomplete bake with id '{command.bake_id}'.", "statusId", 404)
        except BakeRefused as refused:
            await self._reject(command.message_type, refused, context)
            return
        await self._announce_cancel(canceled, context)

    async def release(self, execution_id: str, stage_id: str, context: MessageContext) -> list[str]:
        """One Orca stage ended: it waits no more, and a bake nobody else waits for (nor holds) is
        canceled with the authority of that stage's execution; the bakes canceled."""
        canceled: list[str] = []
        for bake in await self.store.waited_by(execution_id, stage_id):
            bake_id = str(bake["_id"])
            mine = [
                w for w in bake.get("waiters") or [] if (w["execution_id"], w["stage_id"]) == (execution_id, stage_id)
            ]
            left = await self.store.remove_waiter(bake_id, execution_id, stage_id)
            if left is None or left.get("waiters") or left.get("held") or left.get("state") not in ACTIVE:
                continue  # another execution (or a caller outside Orca) still wants it
            authority = Authority.model_validate(mine[-1].get("authority") or {"user": bake.get("user") or ""})
            try:
                await self._authorize(authority, str(bake.get("application")), None, context)
            except BakeRefused as refused:
                log.warning("rosco.bake_left_running", bake_id=bake_id, reason=refused.reason)
                continue
            ended = await self.store.cancel(bake_id, int(time.time() * 1000), unwaited=True)
            if ended is not None:
                await self._announce_cancel(ended, context)
                canceled.append(bake_id)
        return canceled

    async def _announce_cancel(self, canceled: Document, context: MessageContext) -> None:
        bake_id = str(canceled["_id"])
        await answer_waiters(context.bus, canceled, await self.store.log_text(bake_id))
        event = BakeCanceled(
            application=str(canceled.get("application")), bake_id=bake_id, message=f"Canceled bake '{bake_id}'."
        )
        await context.publish(event, subject=bake_id)

    async def _reject(self, command_type: str, refused: BakeRefused, context: MessageContext) -> None:
        rejected = RoscoCommandRejected(
            command_type=command_type, status=refused.status, reason=refused.reason, field=refused.field
        )
        await context.publish(rejected)

    async def get_bake(self, query: GetBake, context: MessageContext) -> BakeFound:
        """A bake's status, details or logs (Rosco's messages when there is none to see)."""
        bake = await self.store.bake(query.bake_id)
        if bake is None or not await self._readable(query.authority, bake, context):
            what = {"status": "status", "bake": "bake details", "logs": "logs"}[query.what]
            return BakeFound(error=f"Unable to retrieve {what} for '{query.bake_id}'.", status=404)
        if query.what == "status":
            return BakeFound(bake_status=await self.status(bake))
        if query.what == "logs":
            logs = await self.store.log_text(query.bake_id)
            if not logs:
                return BakeFound(error=f"Unable to retrieve logs for '{query.bake_id}'.", status=404)
            return BakeFound(logs_content=logs, bake_status=await self.status(bake))
        if bake.get("result") != "SUCCESS":
            return BakeFound(error=f"Unable to retrieve bake details for '{query.bake_id}'.", status=404)
        return BakeFound(bake=bake_details(bake, query.region))

    async def list_options(self, query: ListBakeOptions, context: MessageContext) -> BakeOptionsFound:
        """Rosco's ``/bakeOptions`` (or one provider's)."""
        if query.cloud_provider is not None and query.cloud_provider not in self.bakery.defaults:
            return BakeOptionsFound(error=f"Bake options not found. Cloud provider {query.cloud_provider} not found")
        return BakeOptionsFound(options=list(self.bakery.options(query.cloud_provider)))
