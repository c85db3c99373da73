"""Spinnaker's traffic management for versioned ReplicaSets: Services select a version's pods by labels.

A ``deployManifest`` with ``trafficManagement: {enabled: true, options: {services: ["service web"],
enableTraffic: true}}`` gives the new ReplicaSet's pod template the labels of those Services'
selectors (and records them in ``traffic.spinnaker.io/load-balancers``), so its pods join the
Services once ready. Disabling a version takes those labels off its pod template and off each of
its pods — all but the ones its own selector needs, which the Services' selectors must therefore
not share with it, as Spinnaker requires — so the Services stop sending it requests while its pods
keep running.

A workload (Deployment, ReplicaSet, StatefulSet, DaemonSet, Pod) whose manifest names Services in its
own ``traffic.spinnaker.io/load-balancers`` joins them the same way (:func:`attach_named`), unless the
stage's traffic management is on with ``enableTraffic: false``; when the stage names Services too,
the two lists must agree.
"""

from __future__ import annotations

import json

from schemas.json_types import Json
from workers.clouddriver.kubernetes.load_balancers import LOAD_BALANCERS, named_services
from workers.clouddriver.kubernetes.manifests import notes_of, split_name
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.provider import Account, OperationFailed

RECEIVES_TRAFFIC = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Pod"})
"""Kinds whose pods a Service can be attached to (Spinnaker's handlers that receive traffic)."""


def services(context: Json) -> tuple[list[str], bool]:
    """The Services (``"service web"``) the stage manages traffic with, and whether new pods join them."""
    traffic = context.get("trafficManagement")
    if not isinstance(traffic, dict) or not traffic.get("enabled"):
        return [], False
    options = traffic.get("options") if isinstance(traffic.get("options"), dict) else {}
    named = (options or {}).get("services") or []
    if not isinstance(named, list) or not all(isinstance(name, str) for name in named):
        raise OperationFailed("trafficManagement.options.services must be a list like ['service web']")
    return list(named), (options or {}).get("enableTraffic", True) is not False


def managed(context: Json) -> bool:
    """Whether the stage's ``trafficManagement`` is enabled."""
    traffic = context.get("trafficManagement")
    return isinstance(traffic, dict) and traffic.get("enabled") is True


def services_in(manifests: list[Json]) -> dict[tuple[str, str], Json]:
    """The Services among the manifests a stage deploys, by ``(namespace, name)``: a workload may name
    one deployed beside it."""
    return {
        (str(m["metadata"].get("namespace", "")), str(m["metadata"]["name"])): m
        for m in manifests
        if m.get("kind") == "Service"
    }


async def _service(
    k8s: KubernetesProvider, account: Account, namespace: str, name: str, deployed: dict[tuple[str, str], Json]
) -> Json | None:
    return deployed.get((namespace, name)) or await k8s.get(account, "Service", namespace, name)


async def labels(
    k8s: KubernetesProvider,
    account: Account,
    namespace: str,
    named: list[str],
    deployed: dict[tuple[str, str], Json] | None = None,
) -> Json:
    """The labels of the Services' selectors, merged; :class:`OperationFailed` naming a missing one."""
    found: Json = {}
    for text in named:
        kind, name = split_name(text)
        if kind != "Service":
            raise OperationFailed(f"trafficManagement.options.services: {text!r} is not a service")
        service = await _service(k8s, account, namespace, name, deployed or {})
        if service is None:
            raise OperationFailed(f"trafficManagement: service {name} not found in {account.name}/{namespace}")
        found.update((service.get("spec") or {}).get("selector") or {})
    return found


async def attach_named(
    k8s: KubernetesProvider, account: Account, manifest: Json, deployed: dict[tuple[str, str], Json]
) -> Json:
    """The workload with the selector labels of the Services its own ``traffic.spinnaker.io/load-balancers``
    names (in its namespace, deployed beside it or live) on its pod template, a Pod's on itself, as
    Spinnaker attaches them. Refused (:class:`OperationFailed`) for a missing Service, one without a
    selector, and one selecting by a label the workload already has (it could never be taken out of it)."""
    names = named_services(manifest)
    if not names:
        return manifest
    result: Json = json.loads(json.dumps(manifest))
    namespace = result["metadata"]["namespace"]
    if result["kind"] == "Pod":
        holder = result["metadata"]
    else:
        holder = result.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
    own: Json = dict(holder.get("labels") or {})
    for name in names:
        service = await _service(k8s, account, namespace, name, deployed)
        if service is None:
            raise OperationFailed(f"{LOAD_BALANCERS}: service {name} not found in {account.name}/{namespace}")
        selector: Json = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            raise OperationFailed(
                f"{LOAD_BALANCERS}: service {name} in {namespace} has no selector; a workload can join only a "
                "Service that selects pods by label"
            )
        shared = sorted(set(selector) & set(own))
        if shared:
            raise OperationFailed(
                f"{LOAD_BALANCERS}: service {name} selects by {', '.join(shared)}, which the workload's own labels "
                "hold already; a Service that traffic is managed through must select by labels of its own"
            )
        own.update(selector)
    holder["labels"] = own
    return result


def with_traffic(manifest: Json, named: list[str], selected: Json, enable: bool) -> Json:
    """The ReplicaSet with the Services recorded and, when ``enable``, their labels on its pod template."""
    result: Json = json.loads(json.dumps(manifest))
    notes = notes_of(result)
    notes[LOAD_BALANCERS] = json.dumps(named)
    result["metadata"]["annotations"] = notes
    if enable:
        template = result.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        template["labels"] = {**(template.get("labels") or {}), **selected}
    return result


async def disable(k8s: KubernetesProvider, account: Account, replica_set: Json, selected: Json) -> None:
    """Take the Services' labels off a ReplicaSet's pod template and its pods (keeping its own selector's)."""
    namespace, name = replica_set["metadata"]["namespace"], replica_set["metadata"]["name"]
    own = ((replica_set.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    removed = {key: None for key in selected if key not in own}
    if not removed:
        return
    await k8s.patch(
        account, "ReplicaSet", namespace, name, {"spec": {"template": {"metadata": {"labels": removed}}}}, "merge"
    )
    uid = replica_set["metadata"].get("uid")
    for pod in await k8s.list_kind(account, "Pod", namespace):
        if any(ref.get("uid") == uid for ref in pod["metadata"].get("ownerReferences") or []):
            await k8s.patch(
                account, "Pod", namespace, pod["metadata"]["name"], {"metadata": {"labels": removed}}, "merge"
            )
