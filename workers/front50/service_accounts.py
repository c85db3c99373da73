"""Front50's service accounts (Spinnaker's ``runAsUser`` identities): saved and deleted by admins, and read."""

from __future__ import annotations

from bus.context import MessageContext
from schemas import Event
from schemas.front50 import (
    DeleteServiceAccount,
    GetServiceAccount,
    ListServiceAccounts,
    SaveServiceAccount,
    ServiceAccountDeleted,
    ServiceAccountFound,
    ServiceAccountList,
    ServiceAccountSaved,
)
from schemas.json_types import Json
from workers.front50.access import Front50Access
from workers.front50.bodies import copy_body, name_keys
from workers.front50.documents import key
from workers.front50.errors import missing
from workers.front50.once import answer_once
from workers.front50.store import Front50Store
from workers.front50.validation import check_service_account


class ServiceAccountHandlers:
    """The service account messages' handlers over one :class:`Front50Store`."""

    def __init__(self, store: Front50Store, access: Front50Access) -> None:
        self.store = store
        self.access = access

    async def save_service_account(self, command: SaveServiceAccount, context: MessageContext) -> None:
        """Create or replace a service account."""
        account = copy_body(command.service_account)

        async def decide() -> Event:
            self.access.require_admin(command.authority, "create or change service accounts")
            check_service_account(account)
            name = str(account["name"]).strip()

            def build(current: Json | None, update_ts: str) -> Json:
                return {
                    **account,
                    "name": name,
                    "memberOf": account.get("memberOf") or [],
                    "lastModified": int(update_ts),
                    "lastModifiedBy": command.authority.user,
                }

            saved = await self.store.save(
                self.store.service_accounts,
                entity_id=key(name),
                build=build,
                keys=name_keys,
                command_id=context.envelope.id,
            )
            return ServiceAccountSaved(service_account=saved.body, created=saved.created)

        await answer_once(self.store, context, command, decide)

    async def delete_service_account(self, command: DeleteServiceAccount, context: MessageContext) -> None:
        """Delete a service account by name."""

        async def decide() -> Event:
            self.access.require_admin(command.authority, "delete service accounts")
            found = await self.store.find(self.store.service_accounts, {"_id": key(command.name)})
            if found is None:
                raise missing(f"no service account named {command.name}", "name")
            return ServiceAccountDeleted(name=str(found["name"]))

        async def apply(event: Event) -> None:
            assert isinstance(event, ServiceAccountDeleted)
            await self.store.delete(self.store.service_accounts, {"_id": key(event.name)})

        await answer_once(self.store, context, command, decide, apply)

    async def list_service_accounts(self, query: ListServiceAccounts, context: MessageContext) -> ServiceAccountList:
        """Every service account, by name."""
        return ServiceAccountList(service_accounts=await self.store.all(self.store.service_accounts))

    async def get_service_account(self, query: GetServiceAccount, context: MessageContext) -> ServiceAccountFound:
        """One service account, whatever the case of the name asked for."""
        found = await self.store.find(self.store.service_accounts, {"_id": key(query.name.strip())})
        return ServiceAccountFound(service_account=found)
