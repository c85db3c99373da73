"""Applying a plan through Front50, as Dinghy's ``updatePipelines`` does.

The application is saved when it is new (or every time with the dinghyfile's
``save_app_on_update`` global), with its notifications; then every created or changed pipeline is
upserted by id (a new one gets the id :func:`~workers.dinghy.front50.pipeline_id` derives from
application and name) and every stale one deleted. With a ``lock``, each pipeline is saved
carrying it, and an unchanged pipeline whose stored lock differs (someone unlocked it, or locking
was turned on) is saved again to put it back, as Dinghy's autolock does on every apply.
"""

from __future__ import annotations

from typing import Any

from workers.dinghy.front50 import Front50, pipeline_id
from workers.dinghy.plan import Plan


async def apply_plan(
    front50: Front50,
    changes: Plan,
    spec: dict[str, Any],
    lock: dict[str, Any] | None,
    *,
    save_application: bool,
    locks: dict[str, Any],
) -> None:
    """Carry out ``changes``; ``locks`` are the stored pipelines' ``locked`` values by name."""
    if changes.create_application or save_application:
        await front50.save_application({key: value for key, value in spec.items() if key != "notifications"})
        notifications = spec.get("notifications")
        if isinstance(notifications, dict) and notifications:
            await front50.save_notifications(changes.application, notifications)
    for change in changes.changes:
        relock = change.action == "unchanged" and lock is not None and locks.get(change.name) != lock
        if (change.action in ("create", "update") or relock) and change.pipeline is not None:
            pipeline = dict(change.pipeline)
            if not pipeline.get("id"):
                pipeline["id"] = pipeline_id(changes.application, change.name)
            if lock is not None:
                pipeline["locked"] = lock
            await front50.save_pipeline(pipeline)
        elif change.action == "delete":
            await front50.delete_pipeline(changes.application, change.name)
