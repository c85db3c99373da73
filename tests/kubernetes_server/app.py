"""The HTTP side of the local API server: Kubernetes' paths, verbs, query parameters and ``Status`` errors.

Paths: ``/api``, ``/apis``, ``/api/v1``, ``/apis/{group}/{version}`` (discovery), and for every
served kind ``.../{plural}`` (list, watch, create; all namespaces for a namespaced kind),
``.../namespaces/{ns}/{plural}[/{name}[/status]]`` (get, replace, patch, delete). Parameters:
``watch``, ``resourceVersion`` (where a watch starts), ``timeoutSeconds``, ``labelSelector``,
``dryRun=All``, ``propagationPolicy`` (query or ``DeleteOptions`` body; ``Orphan`` leaves dependants
without their owner reference), ``fieldManager`` (required for an apply patch), ``force``; and a Service's proxy,
``.../namespaces/{ns}/services/{service}/proxy/{path}`` (:mod:`tests.kubernetes_server.service_proxy`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from schemas.json_types import Json
from tests.kubernetes_server import kinds, patches
from tests.kubernetes_server.endpoints import SERVICE
from tests.kubernetes_server.errors import ApiFailure
from tests.kubernetes_server.kinds import Kind
from tests.kubernetes_server.logs import container_log
from tests.kubernetes_server.service_proxy import ServiceProxy
from tests.kubernetes_server.store import ObjectStore
from tests.kubernetes_server.validation import validate

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
}
MAX_BODY = 3 * 1024 * 1024
"""A real API server refuses request bodies over 3 MiB."""


def _parse_path(path: str) -> tuple[str, str, list[str]] | None:
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["api"] and len(parts) >= 2:
        return "", parts[1], parts[2:]
    if parts[:1] == ["apis"] and len(parts) >= 3:
        return parts[1], parts[2], parts[3:]
    return None


def _apply(current: Json | None, applied: Json) -> Json:
    """Server-side apply, simplified: the applier owns every top-level field it sends (replaced whole)
    and the labels and annotations it sends (merged into the object's)."""
    if current is None:
        return applied
    result = {key: value for key, value in current.items() if key in ("metadata", "status")}
    result.update({key: value for key, value in applied.items() if key not in ("metadata", "status")})
    metadata = dict(current["metadata"])
    sent = applied.get("metadata") or {}
    for part in ("labels", "annotations"):
        if part in sent:
            metadata[part] = {**(metadata.get(part) or {}), **(sent[part] or {})}
    if "ownerReferences" in sent:
        metadata["ownerReferences"] = sent["ownerReferences"]
    result["metadata"] = metadata
    return result


def _json(body: Any, status: int = 200) -> web.Response:
    """A JSON answer with the bare ``Content-Type: application/json`` a real API server sends
    (lightkube reads a ``Status`` from an error only under exactly that type)."""
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


def _page(items: list[Json], metadata: Json, limit: str | None, token: str | None) -> tuple[list[Json], Json]:
    """A list's page: at most ``limit`` items from the offset ``token`` (``continue``) carries, and
    the ``continue`` of the next page (with ``remainingItemCount``) when there is one. Simplified: a
    real server pages one snapshot; here each page is cut from the objects as they are then."""
    start = int(token) if token and token.isdigit() else 0
    if not limit or not limit.isdigit() or int(limit) <= 0:
        return items[start:], metadata
    end = start + int(limit)
    if end < len(items):
        metadata = {**metadata, "continue": str(end), "remainingItemCount": len(items) - end}
    return items[start:end], metadata


def _verb_of(request: web.Request, name: str | None) -> str:
    """The RBAC verb of a request: ``get``/``list``/``watch``/``create``/``update``/``patch``/``delete``."""
    if request.method == "GET":
        if name is not None:
            return "get"
        return "watch" if request.query.get("watch") in ("true", "1") else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(request.method, "get")


def _authorise(
    request: web.Request, kind: Kind, namespace: str | None, name: str | None, sub: str | None, allowed: tuple[str, ...]
) -> None:
    """Refuse a restricted identity anything outside its namespaces, as a real server does a
    ServiceAccount bound to a Role in each of them: ``403 Forbidden`` for a cluster-wide list or
    watch, a cluster-scoped kind, or another namespace (discovery stays open to it)."""
    if kind.namespaced and namespace is not None and namespace in allowed:
        return
    resource = f"{kind.plural}/{sub}" if sub else kind.plural
    plural = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    verb = _verb_of(request, name)
    where = f'in the namespace "{namespace}"' if namespace is not None else "at the cluster scope"
    user = f"system:serviceaccount:{allowed[0] if allowed else 'default'}:gennaker"
    subject = f'{plural} "{name}"' if name is not None else plural
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{kind.group}" {where}'
    )
    details: Json = {"kind": kind.plural} if kind.group == "" else {"group": kind.group, "kind": kind.plural}
    if name is not None:
        details["name"] = name
    raise ApiFailure(403, "Forbidden", message, details)


class KubernetesApi:
    """The request handler over one :class:`ObjectStore`; ``token`` (if set) is the bearer token required,
    allowed everything. ``restricted`` maps more tokens to the namespaces each may touch (as a
    namespace-scoped RBAC Role binding grants): see :meth:`_authorise`."""

    def __init__(self, store: ObjectStore, token: str | None = None) -> None:
        self.store = store
        self.token = token
        self.restricted: dict[str, tuple[str, ...]] = {}
        self.proxy = ServiceProxy(store)
        self.requests: list[tuple[str, str]] = []
        """``(method, path)`` of every request, for tests that check what the client asked."""

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def _custom(self) -> tuple[Kind, ...]:
        """The kinds the stored CustomResourceDefinitions define."""
        return kinds.custom(self.store.list(kinds.CRD, None))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Every request: authorise, route, and answer failures as ``Status``."""
        self.requests.append((request.method, request.path))
        try:
            sent = request.headers.get("Authorization", "")
            bearer = sent.removeprefix("Bearer ") if sent.startswith("Bearer ") else None
            allowed = self.restricted.get(bearer or "")
            if allowed is None and self.token is not None and bearer != self.token:
                raise ApiFailure(401, "Unauthorized", "Unauthorized")
            return await self._route(request, allowed)
        except ApiFailure as failure:
            return _json(failure.status(), status=failure.code)
        except patches.PatchError as error:
            return _json(ApiFailure(422, "Invalid", str(error)).status(), status=422)

    async def _route(self, request: web.Request, allowed: tuple[str, ...] | None = None) -> web.StreamResponse:
        if request.path.rstrip("/") == "/api":
            return _json(kinds.core_versions())
        if request.path.rstrip("/") == "/apis":
            return _json(kinds.groups(self._custom()))
        parsed = _parse_path(request.path)
        if parsed is None:
            raise ApiFailure(404, "NotFound", "the server could not find the requested resource")
        group, version, rest = parsed
        if not rest:
            found = kinds.resource_list(group, version, self._custom())
            if found is None:
                raise ApiFailure(404, "NotFound", "the server could not find the requested resource")
            return _json(found)
        namespace: str | None = None
        custom = self._custom()
        if rest[0] == "namespaces" and len(rest) >= 3 and kinds.find(group, version, rest[2], custom):
            namespace, rest = rest[1], rest[2:]
        kind = kinds.find(group, version, rest[0], custom)
        if kind is SERVICE and namespace is not None and len(rest) >= 3 and rest[2] == "proxy":
            if allowed is not None:
                _authorise(request, kind, namespace, rest[1], "proxy", allowed)
            return await self.proxy.answer(request, namespace, rest[1], "/".join(rest[3:]))
        if kind is None or len(rest) > 3:
            raise ApiFailure(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if allowed is not None:
            _authorise(request, kind, namespace, name, sub, allowed)
        if sub == "log" and kind.kind == "Pod" and name is not None and request.method == "GET":
            pod = self.store.get(kind, namespace or "", name)
            text = container_log(pod, request.query.get("container"))
            return web.Response(text=text, content_type="text/plain")
        if sub is not None and not (sub == "status" and kind.status):
            raise ApiFailure(404, "NotFound", f"the server could not find the requested resource ({sub})")
        if kind.namespaced and name is not None and namespace is None:
            raise ApiFailure(404, "NotFound", "the server could not find the requested resource")
        return await self._verb(request, kind, namespace or "", name, sub == "status")

    async def _verb(
        self, request: web.Request, kind: Kind, namespace: str, name: str | None, status: bool
    ) -> web.StreamResponse:
        method = request.method
        dry_run = request.query.get("dryRun") == "All"
        if name is None:
            if method == "GET":
                scope = namespace if kind.namespaced and namespace else None
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, kind, scope)
                items = self.store.list(kind, scope, request.query.get("labelSelector"))
                metadata: Json = {"resourceVersion": str(self.store.version)}
                items, metadata = _page(items, metadata, request.query.get("limit"), request.query.get("continue"))
                return _json(
                    {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": metadata, "items": items}
                )
            if method == "POST":
                if kind.namespaced and not namespace:
                    raise ApiFailure(405, "MethodNotAllowed", "create needs a namespace in the path")
                document = await self._document(request)
                validate(kind, document, None)
                created = await self.store.create(kind, namespace, document, dry_run=dry_run)
                return _json(created, status=201)
            raise ApiFailure(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        if method == "GET":
            return _json(self.store.get(kind, namespace, name))
        if method == "DELETE":
            options = await self._document(request) if (await request.text()).strip() else {}
            policy = request.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
            if policy not in ("Orphan", "Background", "Foreground"):
                raise ApiFailure(
                    400, "BadRequest", f"propagationPolicy {policy!r} is not Orphan, Background or Foreground"
                )
            orphan = policy == "Orphan" or options.get("orphanDependents") is True
            gone = await self.store.delete(kind, namespace, name, dry_run=dry_run, orphan=orphan)
            return _json(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "group": kind.group, "kind": kind.plural, "uid": gone["metadata"]["uid"]},
                }
            )
        if method == "PUT":
            document = await self._document(request)
            return _json(await self._replace(kind, namespace, name, document, status, dry_run))
        if method == "PATCH":
            return await self._patch(request, kind, namespace, name, status, dry_run)
        raise ApiFailure(405, "MethodNotAllowed", f"{method} is not allowed")

    async def _replace(
        self, kind: Kind, namespace: str, name: str, document: Json, status: bool, dry_run: bool
    ) -> Json:
        if not status:
            validate(kind, document, name)
        return await self.store.replace(kind, namespace, name, document, status_only=status, dry_run=dry_run)

    async def _patch(
        self, request: web.Request, kind: Kind, namespace: str, name: str, status: bool, dry_run: bool
    ) -> web.Response:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        patch_type = PATCH_TYPES.get(content_type)
        if patch_type is None:
            raise ApiFailure(
                415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"
            )
        body = await self._document(request, any_json=patch_type == "json")
        current = self.store.find(kind, namespace, name)
        if patch_type == "apply":
            if not request.query.get("fieldManager"):
                raise ApiFailure(400, "BadRequest", "PATCH requests with an apply patch must specify fieldManager")
            if current is None:
                validate(kind, body, name)
                created = await self.store.create(kind, namespace, body, dry_run=dry_run)
                return _json(created, status=201)
            patched = _apply(current, body)
        elif current is None:
            raise ApiFailure(404, "NotFound", f'{kind.plural} "{name}" not found', {"name": name})
        elif patch_type == "merge":
            patched = patches.merge_patch(current, body)
        elif patch_type == "strategic":
            patched = patches.strategic_merge(current, body)
        else:
            patched = patches.json_patch(current, body)
        return _json(await self._replace(kind, namespace, name, patched, status, dry_run))

    async def _document(self, request: web.Request, *, any_json: bool = False) -> Any:
        text = await request.text()
        try:
            document = json.loads(text)
        except ValueError:
            try:
                document = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise ApiFailure(400, "BadRequest", f"the request body is not JSON or YAML: {error}") from None
        if not any_json and not isinstance(document, dict):
            raise ApiFailure(400, "BadRequest", "the request body must be an object")
        return document

    async def _watch(self, request: web.Request, kind: Kind, namespace: str | None) -> web.StreamResponse:
        since_text = request.query.get("resourceVersion") or ""
        since = int(since_text) if since_text.isdigit() else self.store.version
        timeout = float(request.query.get("timeoutSeconds") or 1800)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        async for event in self.store.watch(kind, namespace, since, request.query.get("labelSelector"), timeout):
            line = json.dumps({"type": event.type, "object": event.object}) + "\n"
            await response.write(line.encode())
        await response.write_eof()
        return response
