"""The ``kubernetes`` cloud provider: manifests applied through lightkube, and the server-group view.

Two faces, one client per account (:mod:`workers.clouddriver.kubernetes.client`):

* **Manifests** (what ``deployManifest``, ``deleteManifest``, ``scaleManifest`` and
  ``patchManifest`` use): :meth:`KubernetesProvider.apply` (server-side apply, field manager
  ``gennaker``, so a repeat after a crash changes nothing twice), :meth:`~KubernetesProvider.replace`
  (``strategy.spinnaker.io/replace``), :meth:`~KubernetesProvider.get`,
  :meth:`~KubernetesProvider.list_kind`, :meth:`~KubernetesProvider.delete`,
  :meth:`~KubernetesProvider.patch`. A refusal from the API server is :class:`ApiRefused` with
  the server's message; an API server that does not answer is retried with backoff
  (:data:`ATTEMPTS`, or while the stage's ``stageTimeoutMs`` allows), then the operation fails saying so.
* **Server groups** (the :class:`~workers.clouddriver.provider.CloudProvider` seam): ReplicaSets,
  StatefulSets and DaemonSets are server groups named ``"{kind} {name}"`` in their namespace
  (Spinnaker's region for Kubernetes), their pods the instances, Services the load balancers.
  Resize scales, destroy deletes; creating, enabling and disabling server groups is what
  ``deployManifest`` does, so those operations are refused with that advice.

Every call checks the account's ``namespaces``/``omitNamespaces`` and ``kinds``/``omitKinds``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, cast

import httpx2
import structlog
from lightkube import ALL_NS, ApiError, AsyncClient
from lightkube.codecs import from_dict, resource_registry
from lightkube.core.exceptions import LoadResourceError
from lightkube.types import CascadeType, PatchType

from schemas.json_types import Json
from schemas.kubernetes_account import KubernetesAccountSettings
from workers.clouddriver.descriptions import (
    CreateServerGroup,
    DeleteLoadBalancer,
    DestroyServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    TerminateInstances,
    UpsertLoadBalancer,
)
from workers.clouddriver.kubernetes import kinds, stability
from workers.clouddriver.kubernetes.client import account_client, account_settings
from workers.clouddriver.kubernetes.custom_kinds import CustomKinds
from workers.clouddriver.kubernetes.label_selectors import Selector
from workers.clouddriver.kubernetes.load_balancers import is_disabled, serving
from workers.clouddriver.kubernetes.manifests import manifest_name, moniker_of, split_name
from workers.clouddriver.model import (
    AccountSnapshot,
    Capacity,
    Instance,
    LoadBalancer,
    ServerGroup,
    ServerGroupManager,
    epoch_millis,
)
from workers.clouddriver.provider import (
    ANSWER_MARGIN_SECONDS,
    STAGE_DEADLINE,
    Account,
    CloudProvider,
    OperationFailed,
    Progress,
)

ATTEMPTS = 5
MAX_BACKOFF_SECONDS = 10.0
"""Tries of one call while the API server does not answer (0.5 s, 1 s, 2 s, 4 s apart) when the
stage sets no ``stageTimeoutMs``; with one, tries go on (at most 10 s apart) while it allows."""
FIELD_MANAGER = "gennaker"
WATCHED = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Pod", "Service")
"""The kinds whose changes refresh an account's cache at once (what the infrastructure views show)."""
log = structlog.get_logger("gennaker.clouddriver.kubernetes")
PATCH_TYPES = {"strategic": PatchType.STRATEGIC, "merge": PatchType.MERGE, "json": PatchType.JSON}
CASCADES = {"background": CascadeType.BACKGROUND, "foreground": CascadeType.FOREGROUND, "orphan": CascadeType.ORPHAN}


class ApiRefused(OperationFailed):
    """The API server refused a request; ``code`` is its HTTP status, the message its reason."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class UnknownKind(OperationFailed):
    """A kind that is neither built in nor defined by a CustomResourceDefinition of the account's cluster."""


def _resource(api_version: str, kind: str) -> Any:
    try:
        return resource_registry.load(api_version, kind)
    except LoadResourceError:
        raise UnknownKind(f"kind {kind!r} of apiVersion {api_version!r} is not one Gennaker can deploy") from None


class KubernetesProvider(CloudProvider):
    """Clouddriver's Kubernetes (manifest based, Spinnaker's V2) provider."""

    cloud_provider: ClassVar[str] = "kubernetes"

    def __init__(self, *, attempts: int = ATTEMPTS, first_backoff: float = 0.5, rewatch_seconds: float = 2.0) -> None:
        self.rewatch_seconds = rewatch_seconds
        self._clients: dict[str, AsyncClient] = {}
        self.attempts = attempts
        self.first_backoff = first_backoff
        self.custom = CustomKinds()

    def client(self, account: Account) -> AsyncClient:
        """The account's client (made once)."""
        if account.name not in self._clients:
            self._clients[account.name] = account_client(account)
        return self._clients[account.name]

    def default_namespace(self, account: Account) -> str:
        """The namespace of the account's kubeconfig context (``default`` if it names none)."""
        return str(self.client(account).namespace)

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    def covers(self, account: Account, kind: str, namespace: str | None) -> None:
        """Refuse a kind or namespace outside the account's ``kinds``/``namespaces`` settings."""
        settings = account_settings(account)
        if not settings.covers_kind(kind):
            raise OperationFailed(
                f"account {account.name!r} does not cover kind {kind!r} (its kinds/omitKinds settings)"
            )
        if namespace is not None and not settings.covers_namespace(namespace):
            raise OperationFailed(
                f"account {account.name!r} does not cover namespace {namespace!r}"
                " (its namespaces/omitNamespaces settings)"
            )

    async def _resource_for(self, account: Account, kind: str) -> Any:
        """lightkube's resource for ``kind``: a built-in one, or one a CustomResourceDefinition of the
        account's cluster defines (:mod:`.custom_kinds`)."""
        known = kinds.api_version(kind)
        if known is not None:
            return _resource(known, kinds.canonical(kind))
        found = self.custom.lookup(account.name, kind)
        if found is None:
            client = self.client(account)
            await self._call(
                account, "reading its CustomResourceDefinitions", lambda: self.custom.learn(account.name, client)
            )
            found = self.custom.lookup(account.name, kind)
        if found is None:
            raise UnknownKind(
                f"kind {kind!r} is neither a built-in kind nor one a CustomResourceDefinition of account "
                f"{account.name!r} defines"
            )
        return _resource(*found)

    async def _call(self, account: Account, what: str, call: Any) -> Any:
        """``call()``; a server that does not answer is tried again with doubling backoff:
        ``attempts`` times, or when the stage has a deadline (:data:`STAGE_DEADLINE`) for as long
        as it allows, the last try :data:`ANSWER_MARGIN_SECONDS` before it (so the failure, which
        says the server did not answer, reaches Orca before its own timer fails the stage)."""
        delay = self.first_backoff
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except ApiError as error:
                raise ApiRefused(str(error.status.message or error), int(error.status.code or 0)) from None
            except (httpx2.TransportError, OSError) as error:
                deadline = STAGE_DEADLINE.get()
                left = None if deadline is None else deadline - ANSWER_MARGIN_SECONDS - time.monotonic()
                if (attempt >= self.attempts) if left is None else left <= 0:
                    server = self.client(account).config.cluster.server
                    within = (
                        " (the stage's stageTimeoutMs, counted from the operation's start, leaves no time for another)"
                        if deadline is not None
                        else ""
                    )
                    raise OperationFailed(
                        f"account {account.name!r}: the Kubernetes API server at {server} did not answer {what} "
                        f"after {attempt} attempts over {time.monotonic() - started:.1f} s{within} "
                        f"({type(error).__name__}: {error}); check that it runs"
                    ) from None
                await asyncio.sleep(delay if left is None else min(delay, left))
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    # manifests

    async def _object(self, account: Account, manifest: Json) -> Any:
        """lightkube's object for ``manifest``, after checking the account covers its kind and namespace."""
        namespace = (manifest.get("metadata") or {}).get("namespace")
        self.covers(account, str(manifest["kind"]), namespace)
        try:
            return from_dict(manifest)
        except LoadResourceError:
            await self._resource_for(account, str(manifest["kind"]))  # a custom kind: learn it, or refuse naming it
            return from_dict(manifest)
        except (TypeError, ValueError) as error:
            raise OperationFailed(f"{manifest_name(manifest)}: {error}") from None

    async def apply(self, account: Account, manifest: Json, *, dry_run: bool = False) -> Json:
        """Server-side apply ``manifest`` (created if missing); the object as the server stored it."""
        obj = await self._object(account, manifest)
        client = self.client(account)
        applied = await self._call(
            account,
            f"applying {manifest_name(manifest)}",
            lambda: client.apply(obj, field_manager=FIELD_MANAGER, force=True, dry_run=dry_run),
        )
        return dict(applied.to_dict())

    async def replace(self, account: Account, manifest: Json, *, dry_run: bool = False) -> Json:
        """Replace the live object with ``manifest`` whole, as ``kubectl replace`` does (fields others
        set are dropped; created if missing); the object as the server stored it."""
        obj = await self._object(account, manifest)
        client = self.client(account)
        try:
            replaced = await self._call(
                account,
                f"replacing {manifest_name(manifest)}",
                lambda: client.replace(obj, field_manager=FIELD_MANAGER, dry_run=dry_run),
            )
        except ApiRefused as refused:
            if refused.code != 404:
                raise
            replaced = await self._call(
                account,
                f"creating {manifest_name(manifest)}",
                lambda: client.create(obj, field_manager=FIELD_MANAGER, dry_run=dry_run),
            )
        return dict(replaced.to_dict())

    async def get(self, account: Account, kind: str, namespace: str, name: str) -> Json | None:
        """The live object, or ``None`` if there is none."""
        kind = kinds.canonical(kind)
        self.covers(account, kind, namespace)
        resource = await self._resource_for(account, kind)
        client = self.client(account)
        try:
            found = await self._call(
                account, f"reading {kind} {name}", lambda: client.get(resource, name, namespace=namespace)
            )
        except ApiRefused as refused:
            if refused.code == 404:
                return None
            raise
        return dict(found.to_dict())

    async def pod_log(self, account: Account, namespace: str, pod: str, container: str, *, limit: int) -> str:
        """What ``container`` of ``pod`` printed, at most ``limit`` bytes of it (the start)."""
        self.covers(account, "Pod", namespace)
        client = self.client(account)

        async def read() -> str:
            text, size = [], 0
            async for line in client.log(pod, namespace=namespace, container=container):
                text.append(line)
                size += len(line)
                if size >= limit:
                    break
            return "".join(text)[:limit]

        return str(await self._call(account, f"reading the log of {container} in pod {pod}", read))

    async def list_kind(
        self,
        account: Account,
        kind: str,
        namespace: str | None,
        *,
        fields: dict[str, str] | None = None,
        labels: Selector | None = None,
    ) -> list[Json]:
        """Every object of ``kind`` in ``namespace`` (every covered namespace when ``None``); ``fields``,
        when given, is sent as the list's field selector (a server may ignore it: callers filter too);
        only those ``labels`` selects when given (:mod:`.label_selectors`, asked of the API server)."""
        kind = kinds.canonical(kind)
        resource = await self._resource_for(account, kind)
        client = self.client(account)
        settings = account_settings(account)
        if not settings.covers_kind(kind):
            return []

        async def collect(scope: str) -> list[Json]:
            selector: dict[str, Any] = dict(fields or {})
            # label pairs, not a dict, so one key may carry two selectors (lightkube's selector builder takes either)
            listed = client.list(resource, namespace=scope, fields=selector or None, labels=cast(Any, labels))
            return [dict(item.to_dict()) async for item in listed]

        def listing(scope: str) -> Callable[[], Awaitable[list[Json]]]:
            return lambda: collect(scope)

        scopes = [namespace] if namespace else _scopes(settings)
        batches = await asyncio.gather(
            *(self._call(account, _listing_what(kind, scope), listing(scope)) for scope in scopes)
        )
        found = [item for batch in batches for item in batch]
        return [item for item in found if settings.covers_namespace(item["metadata"].get("namespace", ""))]

    async def delete(
        self, account: Account, kind: str, namespace: str, name: str, *, propagation: str = "background"
    ) -> bool:
        """Delete the object; ``False`` if it was gone already. ``propagation`` is Kubernetes'
        ``propagationPolicy``: ``background`` (dependants deleted after it), ``foreground`` (before
        it) or ``orphan`` (dependants stay, without their owner)."""
        kind = kinds.canonical(kind)
        self.covers(account, kind, namespace)
        resource = await self._resource_for(account, kind)
        client = self.client(account)
        cascade = CASCADES.get(propagation.lower())
        if cascade is None:
            raise OperationFailed(f"propagation {propagation!r} is not one of {', '.join(CASCADES)}")
        try:
            await self._call(
                account,
                f"deleting {kind} {name}",
                lambda: client.delete(resource, name, namespace=namespace, cascade=cascade),
            )
        except ApiRefused as refused:
            if refused.code == 404:
                return False
            raise
        return True

    async def patch(self, account: Account, kind: str, namespace: str, name: str, body: Any, strategy: str) -> Json:
        """Patch the object with ``strategy`` (``strategic``, ``merge`` or ``json``)."""
        kind = kinds.canonical(kind)
        self.covers(account, kind, namespace)
        if strategy not in PATCH_TYPES:
            raise OperationFailed(f"mergeStrategy {strategy!r} is not one of strategic, merge, json")
        resource = await self._resource_for(account, kind)
        client = self.client(account)
        patched = await self._call(
            account,
            f"patching {kind} {name}",
            lambda: client.patch(resource, name, body, namespace=namespace, patch_type=PATCH_TYPES[strategy]),
        )
        return dict(patched.to_dict())

    async def watch_changes(self, account: Account, changed: Callable[[], Awaitable[None]]) -> None:
        """Call ``changed()`` whenever a watched kind (:data:`WATCHED`) changes in the account; runs
        until cancelled. One watch per kind in each of the account's ``namespaces`` (namespaced
        requests, which credentials allowed only there may make), cluster-wide when it names none.
        A lost stream or a server away is watched again every ``rewatch_seconds`` from the last
        ``resourceVersion`` seen, so the server replays what happened meanwhile. A watch starts from a
        one-object list's version until it has one (at first the cache's own refresh reads the
        account); after ``410 Gone`` (its version too old) it starts so again and calls ``changed()``,
        since what it missed is unknown."""
        client = self.client(account)

        async def follow(kind: str, scope: str) -> None:
            resource = await self._resource_for(account, kind)
            version: str | None = None
            started = False
            while True:
                try:
                    if version is None:
                        version = await _list_version(client, resource, scope)
                        if started:  # the cache's own first refresh covers the first watch's start
                            await changed()
                        started = True
                    async for _, obj in client.watch(resource, namespace=scope, resource_version=version):
                        version = obj.metadata.resourceVersion if obj.metadata is not None else version
                        await changed()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    if _gone(error):
                        version = None
                    log.info(
                        "a kubernetes watch ended; watching again",
                        account=account.name,
                        kind=kind,
                        namespace="(all)" if scope == ALL_NS else scope,
                        error=repr(error),
                    )
                await asyncio.sleep(self.rewatch_seconds)

        settings = account_settings(account)
        await asyncio.gather(
            *(follow(kind, scope) for kind in WATCHED if settings.covers_kind(kind) for scope in _scopes(settings))
        )

    # server groups

    async def describe(self, account: Account) -> AccountSnapshot:
        pods = _by_owner(await self.list_kind(account, "Pod", None))
        services = await self.list_kind(account, "Service", None)
        selectors = _selectors(services)
        deployments = {
            str(item["metadata"].get("uid")): item
            for item in await self.list_kind(account, "Deployment", None)
            if moniker_of(item).get("app")
        }
        managed: dict[str, list[str]] = {uid: [] for uid in deployments}
        groups: list[ServerGroup] = []
        template_labels: dict[tuple[str, str], Json] = {}
        for kind in kinds.SERVER_GROUPS:
            for item in await self.list_kind(account, kind, None):
                if moniker_of(item).get("app"):
                    manager = _manager_of(item, deployments)
                    group = self._server_group(account, item, pods, selectors, manager)
                    groups.append(group)
                    if manager is not None:
                        managed[str(manager["metadata"].get("uid"))].append(group.name)
                    template = ((item.get("spec") or {}).get("template") or {}).get("metadata") or {}
                    template_labels[(group.region, group.name)] = template.get("labels") or {}
        managers = tuple(
            ServerGroupManager(
                name=manifest_name(item),
                account=account.name,
                region=item["metadata"].get("namespace", ""),
                server_groups=tuple(sorted(managed[uid])),
                created_time=epoch_millis(item["metadata"].get("creationTimestamp")),
                moniker=moniker_of(item),
                extra=_identity(item),
            )
            for uid, item in deployments.items()
        )
        balancers = []
        for service in services:
            if not moniker_of(service).get("app"):
                continue
            namespace = service["metadata"].get("namespace", "")
            selector: Json = (service.get("spec") or {}).get("selector") or {}
            # the server groups whose pods the Service selects (none for a Service without a selector)
            members = tuple(
                name
                for (region, name), labels in template_labels.items()
                if region == namespace and selector and all(labels.get(key) == value for key, value in selector.items())
            )
            balancers.append(
                LoadBalancer(
                    name=manifest_name(service),
                    account=account.name,
                    region=namespace,
                    server_groups=members,
                    moniker=moniker_of(service),
                    extra={
                        **_identity(service),
                        "kind": service.get("kind"),
                        "createdTime": epoch_millis(service["metadata"].get("creationTimestamp")),
                        "selector": selector,
                    },
                )
            )
        return AccountSnapshot(
            server_groups=tuple(groups), load_balancers=tuple(balancers), server_group_managers=managers
        )

    def _server_group(
        self,
        account: Account,
        item: Json,
        pods: dict[str, list[Json]],
        selectors: dict[tuple[str, str], Json],
        manager: Json | None = None,
    ) -> ServerGroup:
        meta = item["metadata"]
        managers = (
            [{"account": account.name, "location": meta.get("namespace", ""), "name": manager["metadata"]["name"]}]
            if manager is not None
            else []
        )
        owned = pods.get(str(meta.get("uid")), [])
        replicas = int((item.get("spec") or {}).get("replicas", 1))
        return ServerGroup(
            name=manifest_name(item),
            account=account.name,
            region=meta.get("namespace", ""),
            capacity=Capacity(min=replicas, max=replicas, desired=replicas),
            disabled=is_disabled(item, selectors, manager),
            load_balancers=serving(item, selectors, manager),
            instances=tuple(
                Instance(
                    id=manifest_name(pod),
                    zone=pod["metadata"].get("namespace", ""),
                    health_state="Up" if stability.judge(pod).stable else "Down",
                    health_type="KubernetesPod",
                )
                for pod in owned
            ),
            moniker=moniker_of(item),
            created_time=epoch_millis(meta.get("creationTimestamp")),
            extra={**_identity(item), "kind": item.get("kind"), "serverGroupManagers": managers},
        )

    async def server_group(self, account: Account, region: str, name: str) -> ServerGroup | None:
        kind, bare = split_name(name if " " in name else f"replicaSet {name}")
        item = await self.get(account, kind, region, bare)
        if item is None:
            return None
        pods = await self.list_kind(account, "Pod", region)
        manager = await self._manager(account, item)
        services = await self.list_kind(account, "Service", region)
        return self._server_group(account, item, _by_owner(pods), _selectors(services), manager)

    async def _manager(self, account: Account, item: Json) -> Json | None:
        """The Deployment that controls ``item`` (one carrying a moniker), or ``None``."""
        meta = item["metadata"]
        ref = next((ref for ref in meta.get("ownerReferences") or [] if ref.get("kind") == "Deployment"), None)
        if ref is None or not account_settings(account).covers_kind("Deployment"):
            return None
        found = await self.get(account, "Deployment", meta.get("namespace", ""), str(ref.get("name")))
        if found is None or not moniker_of(found).get("app"):
            return None
        return _manager_of(item, {str(found["metadata"].get("uid")): found})

    async def create_server_group(
        self, account: Account, description: CreateServerGroup, progress: Progress
    ) -> ServerGroup:
        raise OperationFailed("kubernetes accounts deploy with deployManifest, not createServerGroup")

    async def resize_server_group(self, account: Account, description: ResizeServerGroup, progress: Progress) -> None:
        name = description.server_group_name
        kind, bare = split_name(name if " " in name else f"replicaSet {name}")
        body = {"spec": {"replicas": description.capacity.desired}}
        await self.patch(account, kind, description.region, bare, body, "merge")
        await progress(f"scaled {kind} {bare} to {description.capacity.desired}")

    async def enable_server_group(self, account: Account, description: EnableServerGroup, progress: Progress) -> None:
        raise OperationFailed("kubernetes accounts route traffic with deployManifest's trafficManagement")

    async def disable_server_group(self, account: Account, description: DisableServerGroup, progress: Progress) -> None:
        raise OperationFailed("kubernetes accounts route traffic with deployManifest's trafficManagement")

    async def destroy_server_group(self, account: Account, description: DestroyServerGroup, progress: Progress) -> None:
        name = description.server_group_name
        kind, bare = split_name(name if " " in name else f"replicaSet {name}")
        await self.delete(account, kind, description.region, bare)

    async def terminate_instances(self, account: Account, description: TerminateInstances, progress: Progress) -> None:
        for instance in description.instance_ids:
            _, bare = split_name(instance if " " in instance else f"pod {instance}")
            await self.delete(account, "Pod", description.region, bare)

    async def upsert_load_balancer(self, account: Account, description: UpsertLoadBalancer, progress: Progress) -> Json:
        raise OperationFailed("kubernetes accounts deploy Services with deployManifest")

    async def delete_load_balancer(self, account: Account, description: DeleteLoadBalancer, progress: Progress) -> None:
        name = description.name
        _, bare = split_name(name if " " in name else f"service {name}")
        await self.delete(account, "Service", description.region, bare)


def _scopes(settings: KubernetesAccountSettings) -> list[str]:
    """Where an account's lists and watches go: each of its ``namespaces`` (namespaced requests, as
    Spinnaker's Clouddriver makes them, so credentials allowed only there suffice), or the whole
    cluster (lightkube's ``ALL_NS``) when it names none (``omitNamespaces`` is filtered after)."""
    return list(settings.namespaces) or [ALL_NS]


def _listing_what(kind: str, scope: str) -> str:
    return f"listing {kind}" if scope == ALL_NS else f"listing {kind} in namespace {scope}"


def _gone(error: Exception) -> bool:
    """Whether a watch ended with ``410 Gone`` (its ``resourceVersion`` too old): as the answer to the
    request, or as an ``ERROR`` event in the stream."""
    if isinstance(error, ApiError):
        return error.status.code == 410
    return isinstance(error, httpx2.HTTPStatusError) and error.response.status_code == 410


async def _list_version(client: AsyncClient, resource: Any, scope: str) -> str:
    """The ``resourceVersion`` of a list of ``resource`` in ``scope``, reading one object at most
    (``limit=1``), where a watch that has seen nothing yet starts."""
    listed = client.list(resource, namespace=scope, chunk_size=1)
    items = aiter(listed)
    try:
        await anext(items, None)
    finally:
        await cast(Any, items).aclose()
    return str(listed.resourceVersion)


def _manager_of(item: Json, deployments: dict[str, Json]) -> Json | None:
    """The Deployment (of ``deployments``, by uid) that controls ``item``, or ``None``."""
    for ref in item["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "Deployment" and str(ref.get("uid")) in deployments:
            return deployments[str(ref.get("uid"))]
    return None


def _identity(item: Json) -> Json:
    """What Spinnaker's Kubernetes views show of any resource: its namespace, bare name
    (``displayName``), ``apiVersion`` and labels."""
    meta = item["metadata"]
    return {
        "namespace": meta.get("namespace", ""),
        "displayName": meta["name"],
        "apiVersion": item.get("apiVersion"),
        "labels": dict(meta.get("labels") or {}),
    }


def _by_owner(pods: list[Json]) -> dict[str, list[Json]]:
    """``pods`` by the uid of each object that owns them (so describing N server groups is not N times every pod)."""
    owned: dict[str, list[Json]] = {}
    for pod in pods:
        for ref in pod["metadata"].get("ownerReferences") or []:
            owned.setdefault(str(ref.get("uid")), []).append(pod)
    return owned


def _selectors(services: list[Json]) -> dict[tuple[str, str], Json]:
    """Each Service's selector by ``(namespace, name)``."""
    return {
        (service["metadata"].get("namespace", ""), service["metadata"]["name"]): (service.get("spec") or {}).get(
            "selector"
        )
        or {}
        for service in services
    }
