"""Front50's notification preferences of an application: replaced whole (hidden credentials kept), and read."""

from __future__ import annotations

from bus.context import MessageContext
from schemas import Event
from schemas.front50 import GetNotifications, NotificationsFound, NotificationsSaved, SaveNotifications
from schemas.json_types import Json
from schemas.secrets import restore
from workers.front50.access import Front50Access
from workers.front50.bodies import copy_body, refuse_unknown_markers
from workers.front50.documents import key
from workers.front50.once import answer_once
from workers.front50.store import Front50Store
from workers.front50.validation import check_notifications


class NotificationHandlers:
    """The notification preference messages' handlers over one :class:`Front50Store`."""

    def __init__(self, store: Front50Store, access: Front50Access) -> None:
        self.store = store
        self.access = access

    async def save_notifications(self, command: SaveNotifications, context: MessageContext) -> None:
        """Replace an application's notification preferences."""
        notifications = copy_body(command.notifications)

        async def decide() -> Event:
            check_notifications(notifications)
            application = command.application.strip()
            await self.access.require_write(command.authority, application, field="application")
            existing = await self.store.find(self.store.notifications, {"_id": key(application)})
            refuse_unknown_markers(notifications, existing)

            def build(current: Json | None, update_ts: str) -> Json:
                # a credential a reader saw only as its marker keeps its stored value (schemas.secrets)
                return {
                    **restore(notifications, current),
                    "application": application,
                    "lastModified": int(update_ts),
                    "lastModifiedBy": command.authority.user,
                }

            saved = await self.store.save(
                self.store.notifications,
                entity_id=key(application),
                build=build,
                keys=lambda body: {"nameKey": key(str(body["application"]))},
                command_id=context.envelope.id,
            )
            return NotificationsSaved(application=application, notifications=saved.body)

        await answer_once(self.store, context, command, decide)

    async def get_notifications(self, query: GetNotifications, context: MessageContext) -> NotificationsFound:
        """An application's notification preferences."""
        found = await self.store.find(self.store.notifications, {"_id": key(query.application)})
        return NotificationsFound(notifications=found)
