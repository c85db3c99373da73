"""The API server's objects: resource versions, generations, the event history that ``watch`` streams.

One process-wide ``resourceVersion`` counter, as etcd's revision is: every write takes the next
one, lists answer the current one, and a watch from version N replays every later event before
waiting for new ones. ``metadata.generation`` grows when anything but ``metadata``/``status``
changes. Writes to a kind with a status subresource keep the status, and writes to ``/status``
keep everything else. What is stored is defaulted as a real server defaults it
(:mod:`tests.kubernetes_server.defaults`).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.json_types import Json
from tests.kubernetes_server import selectors
from tests.kubernetes_server.defaults import with_defaults
from tests.kubernetes_server.errors import ApiFailure, not_found
from tests.kubernetes_server.kinds import Kind

Key = tuple[str, str, str]
"""``(plural, namespace, name)``; cluster-scoped objects have namespace ``""``."""


INITIAL_STATUS: dict[str, Json] = {
    "Namespace": {"phase": "Active"},
    "Pod": {"phase": "Pending"},
    "ReplicaSet": {"replicas": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0},
}
"""The status a real API server gives a new object of each kind (its type's required fields, zero)."""


def now() -> str:
    """A timestamp as Kubernetes writes one (RFC 3339, seconds, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(document: Json) -> Json:
    return {key: value for key, value in document.items() if key not in ("metadata", "status")}


@dataclass
class Event:
    """One watch event: ``ADDED``, ``MODIFIED`` or ``DELETED``, at ``version``."""

    version: int
    type: str
    plural: str
    namespace: str
    object: Json


@dataclass
class ObjectStore:
    """Every object, by kind, namespace and name."""

    objects: dict[Key, Json] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    version: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def _key(self, kind: Kind, namespace: str, name: str) -> Key:
        return (kind.plural, namespace if kind.namespaced else "", name)

    def get(self, kind: Kind, namespace: str, name: str) -> Json:
        """A copy of the object, or 404."""
        found = self.objects.get(self._key(kind, namespace, name))
        if found is None:
            raise not_found(f"{kind.plural}.{kind.group}" if kind.group else kind.plural, name)
        return copy.deepcopy(found)

    def find(self, kind: Kind, namespace: str, name: str) -> Json | None:
        """A copy of the object, or ``None``."""
        found = self.objects.get(self._key(kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list(self, kind: Kind, namespace: str | None, selector: str | None = None) -> list[Json]:
        """Copies of the objects of ``kind`` (in ``namespace``, or all) whose labels match ``selector``."""
        match = selectors.parse(selector)
        return [
            copy.deepcopy(obj)
            for (plural, ns, _), obj in sorted(self.objects.items())
            if plural == kind.plural
            and (namespace is None or ns == namespace)
            and match(obj["metadata"].get("labels") or {})
        ]

    def _namespace_exists(self, kind: Kind, namespace: str) -> None:
        if kind.namespaced and ("namespaces", "", namespace) not in self.objects:
            raise ApiFailure(404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace})

    async def _write(self, kind: Kind, namespace: str, obj: Json, type: str) -> Json:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        key = self._key(kind, namespace, obj["metadata"]["name"])
        if type == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.events.append(Event(self.version, type, kind.plural, key[1], copy.deepcopy(obj)))
        async with self.changed:
            self.changed.notify_all()
        return copy.deepcopy(obj)

    async def create(self, kind: Kind, namespace: str, document: Json, *, dry_run: bool = False) -> Json:
        """Store a new object (409 if the name is taken, 404 if the namespace is missing)."""
        self._namespace_exists(kind, namespace)
        obj = with_defaults(document, None, namespace)
        metadata = obj.setdefault("metadata", {})
        name = metadata["name"]
        if self._key(kind, namespace, name) in self.objects:
            plural = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
            raise ApiFailure(409, "AlreadyExists", f'{plural} "{name}" already exists', {"name": name})
        metadata.pop("resourceVersion", None)
        metadata.pop("managedFields", None)
        if kind.namespaced:
            metadata["namespace"] = namespace
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        if kind.status:
            obj["status"] = dict(INITIAL_STATUS.get(kind.kind, {}))
        if dry_run:
            obj["metadata"]["resourceVersion"] = str(self.version)
            return obj
        return await self._write(kind, namespace, obj, "ADDED")

    async def replace(
        self, kind: Kind, namespace: str, name: str, document: Json, *, status_only: bool = False, dry_run: bool = False
    ) -> Json:
        """Replace the object (409 if ``metadata.resourceVersion`` is given and stale)."""
        current = self.get(kind, namespace, name)
        asked = (document.get("metadata") or {}).get("resourceVersion")
        if asked and asked != current["metadata"]["resourceVersion"]:
            plural = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
            raise ApiFailure(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {plural} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                {"name": name},
            )
        if status_only:
            obj = copy.deepcopy(current)
            obj["status"] = copy.deepcopy(document.get("status") or {})
        else:
            obj = with_defaults(document, current, namespace)
            metadata = obj.setdefault("metadata", {})
            for kept in ("uid", "creationTimestamp", "generation", "namespace", "ownerReferences"):
                if kept in current["metadata"] and (kept != "ownerReferences" or kept not in metadata):
                    metadata[kept] = current["metadata"][kept]
            metadata.pop("managedFields", None)
            if _body(obj) != _body(current):
                metadata["generation"] = int(current["metadata"].get("generation", 1)) + 1
            if kind.status:
                obj["status"] = current.get("status", {})
        if obj == current:
            return current
        if dry_run:
            return obj
        return await self._write(kind, namespace, obj, "MODIFIED")

    async def delete(
        self, kind: Kind, namespace: str, name: str, *, dry_run: bool = False, orphan: bool = False
    ) -> Json:
        """Remove the object (404 if missing); a namespace takes its objects with it. With ``orphan``
        (``propagationPolicy: Orphan``) its dependants lose their owner reference to it and stay;
        otherwise the garbage collector deletes them later (background propagation)."""
        current = self.get(kind, namespace, name)
        if dry_run:
            return current
        if orphan:
            uid = current["metadata"].get("uid")
            for key, obj in list(self.objects.items()):
                references = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in references):
                    self.version += 1
                    obj["metadata"]["ownerReferences"] = [ref for ref in references if ref.get("uid") != uid]
                    obj["metadata"]["resourceVersion"] = str(self.version)
                    self.events.append(Event(self.version, "MODIFIED", key[0], key[1], copy.deepcopy(obj)))
        if kind.kind == "Namespace":
            for key in [key for key in self.objects if key[1] == name]:
                self.version += 1
                gone = self.objects.pop(key)
                gone["metadata"]["resourceVersion"] = str(self.version)
                self.events.append(Event(self.version, "DELETED", key[0], key[1], gone))
        return await self._write(kind, namespace, current, "DELETED")

    def _past(self, position: int) -> bool:
        return position < len(self.events)

    async def watch(
        self, kind: Kind, namespace: str | None, since: int, selector: str | None, timeout: float
    ) -> AsyncIterator[Event]:
        """Events of ``kind`` after version ``since`` (replayed, then live) until ``timeout`` seconds pass."""
        match = selectors.parse(selector)
        deadline = asyncio.get_running_loop().time() + timeout
        position = next((index for index, event in enumerate(self.events) if event.version > since), len(self.events))
        while True:
            while position < len(self.events):
                event = self.events[position]
                position += 1
                if event.plural != kind.plural or (namespace is not None and event.namespace != namespace):
                    continue
                if match(event.object["metadata"].get("labels") or {}):
                    yield event
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait_for(functools.partial(self._past, position)), left)
                except TimeoutError:
                    return
