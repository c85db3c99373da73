"""Front50's canary configs: Kayenta's save-time validation, storage and reads.

The checks are Kayenta's ``CanaryConfigController``'s, with its messages: a name made only of
letters, numbers, dashes and underscores; at least one application; every metric named, and no
name twice. A POST's id must be new ("Canary config 'x' already exists."), a PUT's must exist.
Kayenta sets ``createdTimestamp`` / ``updatedTimestamp`` (epoch millis) and their ISO texts and
keeps the ``id`` inside the config; so does this. Who may: WRITE on every application the config
lists (and, on a replace or delete, on every application the stored one listed), so a config
cannot be moved out of an application by somebody who may not change it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bus.context import MessageContext
from schemas import Event
from schemas.canary_configs import (
    CanaryConfigDeleted,
    CanaryConfigFound,
    CanaryConfigList,
    CanaryConfigSaved,
    DeleteCanaryConfig,
    GetCanaryConfig,
    ListCanaryConfigs,
    SaveCanaryConfig,
)
from schemas.json_types import Json
from workers.front50.access import Front50Access
from workers.front50.documents import derived_id, key
from workers.front50.errors import invalid, missing
from workers.front50.once import answer_once
from workers.front50.store import Document, Front50Store

NAME = re.compile(r"^[a-zA-Z0-9_-]*$")
MAX_NAME = 255
MAX_METRICS = 500
MAX_APPLICATIONS = 100


def check_canary_config(config: Json) -> None:
    """Kayenta's save-time checks (and Gennaker's limits); a 400 naming the field otherwise."""
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise invalid("Canary config must specify a name.", "name")
    applications = config.get("applications")
    if not isinstance(applications, list) or not applications:
        raise invalid("Canary config must specify at least one application.", "applications")
    if not NAME.match(name):
        raise invalid(
            f"Canary config cannot be named '{name}'. Names must contain only letters, numbers, "
            "dashes (-) and underscores (_).",
            "name",
        )
    if len(name) > MAX_NAME:
        raise invalid(f"Canary config name is longer than {MAX_NAME} characters", "name")
    if len(applications) > MAX_APPLICATIONS or not all(isinstance(a, str) and a.strip() for a in applications):
        raise invalid(f"applications must be 1 to {MAX_APPLICATIONS} application names", "applications")
    metrics = config.get("metrics") or []
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        raise invalid(f"metrics must be a list of at most {MAX_METRICS} metric configs", "metrics")
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        metric_name = metric.get("name") if isinstance(metric, dict) else None
        if not isinstance(metric_name, str) or not metric_name:
            raise invalid("Metric config must specify a name.", f"metrics[{index}].name")
        if metric_name in seen:
            raise invalid(
                f"Metric config name must be unique. '{metric_name}' is duplicated.", f"metrics[{index}].name"
            )
        seen.add(metric_name)


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _keys(body: Json) -> Document:
    return {
        "nameKey": key(str(body["name"])),
        "applicationKeys": [key(str(app)) for app in body.get("applications") or []],
    }


class CanaryConfigHandlers:
    """The canary-config commands and queries over Front50's store."""

    def __init__(self, store: Front50Store, access: Front50Access) -> None:
        self.store = store
        self.access = access

    async def save(self, command: SaveCanaryConfig, context: MessageContext) -> None:
        """Kayenta's POST (``create``) or PUT of a canary config."""
        config: Json = json.loads(json.dumps(command.canary_config))

        async def decide() -> Event:
            check_canary_config(config)
            config_id = str(command.config_id or config.get("id") or derived_id(context.envelope.id)).strip()
            document = await self.store.find_document(self.store.canary_configs, {"_id": config_id})
            current = json.loads(document["body"]) if document else None
            if command.create and document is not None and document.get("lastCommand") != context.envelope.id:
                raise invalid(f"Canary config '{config_id}' already exists.", "id")
            if not command.create and current is None:
                raise missing(f"Canary config '{config_id}' does not exist.", "id")
            listed = {*config["applications"], *((current or {}).get("applications") or [])}
            for application in sorted(listed):
                await self.access.require_write(command.authority, str(application), field="applications")

            def build(stored: Json | None, update_ts: str) -> Json:
                now = int(update_ts)
                created = int((stored or {}).get("createdTimestamp") or config.get("createdTimestamp") or now)
                return {
                    **config,
                    "id": config_id,
                    "createdTimestamp": created,
                    "updatedTimestamp": now,
                    "createdTimestampIso": _iso(created),
                    "updatedTimestampIso": _iso(now),
                }

            saved = await self.store.save(
                self.store.canary_configs,
                entity_id=config_id,
                build=build,
                keys=_keys,
                command_id=context.envelope.id,
            )
            return CanaryConfigSaved(canary_config=saved.body)

        await answer_once(self.store, context, command, decide)

    async def delete(self, command: DeleteCanaryConfig, context: MessageContext) -> None:
        """Delete a canary config: WRITE on each application it lists."""

        async def decide() -> Event:
            current = await self.store.find(self.store.canary_configs, {"_id": command.config_id})
            if current is None:
                raise missing(f"Canary config '{command.config_id}' does not exist.", "config_id")
            applications = [str(app) for app in current.get("applications") or []]
            for application in applications:
                await self.access.require_write(command.authority, application, field="config_id")
            return CanaryConfigDeleted(config_id=command.config_id, applications=applications)

        async def apply(event: Event) -> None:
            assert isinstance(event, CanaryConfigDeleted)
            await self.store.delete(self.store.canary_configs, {"_id": event.config_id})

        await answer_once(self.store, context, command, decide, apply)

    async def list(self, query: ListCanaryConfigs, context: MessageContext) -> CanaryConfigList:
        """Every canary config, or those of one application (case-insensitive)."""
        selector = {"applicationKeys": key(query.application)} if query.application else None
        return CanaryConfigList(canary_configs=await self.store.all(self.store.canary_configs, selector))

    async def get(self, query: GetCanaryConfig, context: MessageContext) -> CanaryConfigFound:
        """One canary config by id."""
        return CanaryConfigFound(
            canary_config=await self.store.find(self.store.canary_configs, {"_id": query.config_id})
        )


def canary_config_table(handlers: CanaryConfigHandlers) -> dict[type[Any], Any]:
    """Which handler takes which canary-config message."""
    return {
        SaveCanaryConfig: handlers.save,
        DeleteCanaryConfig: handlers.delete,
        ListCanaryConfigs: handlers.list,
        GetCanaryConfig: handlers.get,
    }
