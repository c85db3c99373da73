"""The per-manifest steps of ``deployManifest`` that Spinnaker's ``strategy.spinnaker.io/*`` annotations
steer (:mod:`workers.clouddriver.kubernetes.manifest_strategy`): which version a manifest deploys as,
the capacity it takes from its source, how it reaches the cluster (apply, replace, recreate), and the
old versions deleted past its ``max-version-history``.

A redeploy reuses the latest version when what was last applied to it
(``kubectl.kubernetes.io/last-applied-configuration``, written by every deploy) asks for the same as
the new manifest, all but metadata, as Spinnaker's versioner compares; the live object is not the
measure, since the API server adds defaults and folds a Secret's ``stringData`` into ``data``. Only
the latest version is reused (Spinnaker reuses any matching one): an older version's pods were taken
out of their Services by red/black, and applying its template again would not put them back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from schemas.json_types import Json
from workers.clouddriver.kubernetes import manifests
from workers.clouddriver.kubernetes.manifest_strategy import SCALABLE, ManifestStrategy
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.operations.base import OperationRun
from workers.clouddriver.provider import Account, OperationFailed


async def choose_version(
    op: OperationRun, k8s: KubernetesProvider, account: Account, manifest: Json
) -> tuple[str, int, str | None]:
    """The name this versioned manifest deploys as (the latest version again if unchanged, else the
    next), its sequence, and the version deployed now (its source capacity), recorded so a resumed
    deploy picks the same."""
    kind, namespace, base = manifest["kind"], manifest["metadata"]["namespace"], manifest["metadata"]["name"]

    async def choose() -> list[Any]:
        versions = []
        for item in await k8s.list_kind(account, kind, namespace):
            sequence = manifests.sequence_of(item["metadata"]["name"], base)
            if sequence is not None:
                versions.append((sequence, item))
        if not versions:
            return [manifests.version_name(base, 0), 0, None]
        sequence, latest = max(versions, key=lambda pair: pair[0])
        if manifests.same_configuration(manifests.last_applied(latest), manifest):
            return [latest["metadata"]["name"], sequence, latest["metadata"]["name"]]
        return [manifests.version_name(base, sequence + 1), sequence + 1, latest["metadata"]["name"]]

    name, sequence, *source = await op.decide(f"version:{kind}/{namespace}/{base}", choose)
    return str(name), int(sequence), (str(source[0]) if source and source[0] else None)


async def with_source_capacity(
    op: OperationRun, k8s: KubernetesProvider, account: Account, manifest: Json, source: str | None
) -> Json:
    """``manifest`` with the replicas of ``source`` (the version or object deployed now) when its kind
    scales and ``source`` exists; as it is otherwise."""
    kind, namespace = manifest["kind"], manifest["metadata"]["namespace"]
    if kind not in SCALABLE or source is None:
        return manifest
    live = await k8s.get(account, kind, namespace, source)
    replicas = ((live or {}).get("spec") or {}).get("replicas")
    if not isinstance(replicas, int):
        return manifest
    await op.progress(f"use-source-capacity: {manifests.manifest_name(manifest)} takes {replicas} replicas of {source}")
    return {**manifest, "spec": {**(manifest.get("spec") or {}), "replicas": replicas}}


async def put(
    op: OperationRun,
    k8s: KubernetesProvider,
    account: Account,
    manifest: Json,
    strategy: ManifestStrategy,
    *,
    dry_run: bool,
) -> Json:
    """Send ``manifest`` to the cluster as its strategy says: apply, replace, or delete (waiting until it
    is gone) and create anew. A dry run of ``recreate`` deletes nothing; the object it replaces is
    recorded (its uid), so a resumed deploy does not delete the one it created already."""
    if strategy.deploy == "replace":
        return await k8s.replace(account, manifest, dry_run=dry_run)
    if strategy.deploy == "recreate" and not dry_run:
        kind, namespace, name = manifest["kind"], manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        live = await k8s.get(account, kind, namespace, name)
        uid = (live or {}).get("metadata", {}).get("uid")

        async def replaced() -> str | None:
            return str(uid) if uid else None

        # the first run records the object it found (or none); a resumed one finding another made it already
        found_first = await op.decide(f"recreate:{kind}/{namespace}/{name}", replaced)
        if uid and found_first == uid:
            if await k8s.delete(account, kind, namespace, name):
                await op.progress(f"recreate: deleted {manifests.manifest_name(manifest)} in {namespace}")
            await _gone(op, k8s, account, manifest)
    return await k8s.apply(account, manifest, dry_run=dry_run)


async def _gone(op: OperationRun, k8s: KubernetesProvider, account: Account, manifest: Json) -> None:
    """Wait (up to ``waitForUpTimeoutSeconds``) until the deleted object is gone: a real cluster keeps it
    while its finalizers run, and applying meanwhile would change the object being deleted."""
    kind, namespace, name = manifest["kind"], manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    timeout = op.wait_timeout()
    deadline = time.monotonic() + timeout
    while await k8s.get(account, kind, namespace, name) is not None:
        if time.monotonic() >= deadline:
            raise OperationFailed(
                f"recreate: {manifests.manifest_name(manifest)} in {namespace} is still being deleted after "
                f"{timeout:g} s (waitForUpTimeoutSeconds); nothing was created in its place"
            )
        await asyncio.sleep(op.poll_seconds)


async def trim_history(
    op: OperationRun, k8s: KubernetesProvider, account: Account, deployed: Json, strategy: ManifestStrategy
) -> None:
    """Delete the oldest versions of ``deployed``'s artifact (same kind, namespace, ``artifact.spinnaker.io/name``
    and application) past its ``max-version-history``, the versions counted with the new one, oldest
    by creation then by version; never the version just deployed."""
    keep = strategy.max_version_history
    notes = manifests.notes_of(deployed)
    artifact = notes.get(f"{manifests.ARTIFACT}name")
    if keep is None or not artifact or not notes.get(f"{manifests.ARTIFACT}version"):
        return
    kind, namespace = deployed["kind"], deployed["metadata"]["namespace"]
    application = manifests.application_of(deployed)
    versions = []
    for item in await k8s.list_kind(account, kind, namespace):
        other = manifests.notes_of(item)
        sequence = manifests.sequence_of(item["metadata"]["name"], artifact)
        if sequence is None or other.get(f"{manifests.ARTIFACT}name") != artifact:
            continue
        if manifests.application_of(item) != application:
            continue
        versions.append((str(item["metadata"].get("creationTimestamp") or ""), sequence, item["metadata"]["name"]))
    versions.sort()
    for _, _, name in versions[: max(len(versions) - keep, 0)]:
        if name == deployed["metadata"]["name"]:
            continue
        await k8s.delete(account, kind, namespace, name)
        await op.progress(f"max-version-history {keep}: deleted {kind[:1].lower()}{kind[1:]} {name} in {namespace}")
