"""Spinnaker's manifest stages on ``kubernetes`` accounts: ``deployManifest``, ``deleteManifest``,
``scaleManifest``, ``patchManifest``, ``rollingRestartManifest``, ``undoRolloutManifest``,
``findArtifactsFromResource`` and ``runJobManifest``.

Spinnaker's context shapes: ``account``, ``manifests`` (or ``source: artifact`` with an
``embedded/base64`` ``manifestArtifact``), ``moniker``, ``namespaceOverride``,
``requiredArtifacts`` / ``optionalArtifacts`` (``docker/image`` ones replace the images they name:
:mod:`workers.clouddriver.kubernetes.artifact_binding`),
``trafficManagement`` (:mod:`workers.clouddriver.kubernetes.traffic`) with ``options.strategy``, which applies
only when ``trafficManagement.enabled`` is true, as in Spinnaker (once the new version is stable, ``redblack``
— or ``bluegreen``, Spinnaker's newer name — takes the older versions of its cluster out of the Services,
``highlander`` also deletes them; ``none``, the default: they stay; a strategy with Services but
``enableTraffic: false`` is refused, since the Services would be left with no version at all) for deploys;
``manifestName`` (``"deployment web"``; or ``mode: dynamic`` with ``cluster`` and ``criteria``:
:mod:`workers.clouddriver.kubernetes.targets`) and ``location`` (its namespace) for the others, with
``replicas`` (scale), ``patchBody`` (or ``source: artifact`` with a ``manifestArtifact`` holding the
patch) and ``options.mergeStrategy`` (patch), ``options.cascading``
(delete; ``false`` orphans the dependants). A delete may name no manifest but ``mode: label`` with
``kinds`` and ``labelSelectors`` (:mod:`workers.clouddriver.kubernetes.label_selectors`): every
object of those kinds in ``location`` that the selectors select.

A deploy refuses every document before applying any (:mod:`workers.clouddriver.kubernetes.manifests`),
asks the API server to accept them all with a server-side dry run, then applies them in order:
versioned ConfigMaps and Secrets first, so the workloads' references can name their new
versions. Each manifest is versioned, sized, sent and its history trimmed as its
``strategy.spinnaker.io/*`` annotations say (:mod:`workers.clouddriver.operations.manifest_versions`).
Each stage then waits until what it changed is stable (Spinnaker's
``waitForManifestStable``, judged per kind by :mod:`workers.clouddriver.kubernetes.stability`)
for ``waitForUpTimeoutSeconds`` (default 300). A refusal names the document's index and kind and
the server's reason.

Authority: WRITE on the account (every operation) and EXECUTE on the pipeline's application; a
deploy annotates everything with the pipeline's application (a ``moniker.app`` naming another
is refused), and delete, scale and patch touch only objects whose
``moniker.spinnaker.io/application`` is the pipeline's.

Outputs, as Orca's manifest stages read them: ``outputs.manifests``,
``outputs.manifestNamesByNamespace`` (``{namespace: ["deployment web"]}``),
``outputs.createdArtifacts``, ``outputs.boundArtifacts`` and ``deploy.account.name``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from schemas.authority import Permission
from schemas.json_types import Json
from workers.clouddriver.access import AccessDenied
from workers.clouddriver.kubernetes import (
    artifact_binding,
    kinds,
    label_selectors,
    manifests,
    properties,
    rollouts,
    stability,
    targets,
    traffic,
)
from workers.clouddriver.kubernetes.load_balancers import LOAD_BALANCERS, named_services
from workers.clouddriver.kubernetes.manifest_strategy import ManifestStrategy, strategy_of
from workers.clouddriver.kubernetes.provider import ApiRefused, KubernetesProvider
from workers.clouddriver.operations import manifest_versions
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed

STRATEGIES = ("none", "highlander", "redblack", "bluegreen")
"""``bluegreen`` is Spinnaker's newer name for ``redblack``; both do the same."""


def _kubernetes(provider: CloudProvider, account: Account) -> KubernetesProvider:
    if not isinstance(provider, KubernetesProvider):
        raise OperationFailed(f"account {account.name!r} is a {account.cloud_provider!r} account, not a kubernetes one")
    return provider


def _shown(manifest: Json) -> Json:
    """``manifest`` as outputs may show it: a Secret without its ``data`` and ``stringData``
    (outputs travel in events and executions, where secrets never go)."""
    if manifest.get("kind") != "Secret":
        return manifest
    shown = {key: value for key, value in manifest.items() if key not in ("data", "stringData")}
    notes = manifests.notes_of(manifest)
    if manifests.LAST_APPLIED in notes:  # it holds what was applied, the data with it
        notes.pop(manifests.LAST_APPLIED)
        shown["metadata"] = {**manifest["metadata"], "annotations": notes}
    return shown


def _outcome(account: Account, applied: list[Json], **extra: Any) -> Outcome:
    by_namespace: dict[str, list[str]] = {}
    artifacts = []
    for manifest in applied:
        namespace = manifest["metadata"].get("namespace", "")
        by_namespace.setdefault(namespace, []).append(manifests.manifest_name(manifest))
        notes = manifests.notes_of(manifest)
        artifacts.append(
            {
                "type": notes.get(f"{manifests.ARTIFACT}type", f"kubernetes/{manifest['kind']}"),
                "name": notes.get(f"{manifests.ARTIFACT}name", manifest["metadata"]["name"]),
                "location": namespace,
                "version": notes.get(f"{manifests.ARTIFACT}version", ""),
                "reference": manifest["metadata"]["name"],
                "metadata": {"account": account.name},
            }
        )
    outputs: Json = {
        "outputs.manifests": [_shown(manifest) for manifest in applied],
        "outputs.manifestNamesByNamespace": by_namespace,
        "outputs.createdArtifacts": artifacts,
        "outputs.boundArtifacts": [],
        "deploy.account.name": account.name,
        **extra,
    }
    return Outcome(outputs=outputs, context={"manifestNamesByNamespace": by_namespace})


class Unstable(OperationFailed):
    """A manifest that did not become stable: ``live`` is it as last read (``None`` if it never existed)."""

    def __init__(self, message: str, target: Json, live: Json | None) -> None:
        super().__init__(message)
        self.target = target
        self.live = live


async def _wait_stable(op: OperationRun, k8s: KubernetesProvider, account: Account, targets: list[Json]) -> None:
    """Spinnaker's ``waitForManifestStable``: poll each target until stable, failed, or out of time
    (:class:`Unstable` naming the first that is not)."""
    timeout = op.wait_timeout()
    deadline = time.monotonic() + timeout
    waiting: dict[str, str] = {}
    for target in targets:
        kind, namespace, name = target["kind"], target["metadata"].get("namespace", ""), target["metadata"]["name"]
        label = f"{manifests.manifest_name(target)} in {namespace}"
        while True:
            live = await k8s.get(account, kind, namespace, name)
            judged = stability.judge(live) if live else stability.Stability(False, waiting="waiting for it to exist")
            if judged.failed:
                raise Unstable(f"{label} failed: {judged.failed}", target, live)
            if judged.stable:
                await op.progress(f"{label} is stable")
                break
            if waiting.get(label) != judged.waiting:
                waiting[label] = judged.waiting
                await op.progress(f"{label}: {judged.waiting}")
            if time.monotonic() >= deadline:
                raise Unstable(
                    f"{label} is not stable after {timeout:g} s (waitForUpTimeoutSeconds): {judged.waiting}",
                    target,
                    live,
                )
            await asyncio.sleep(op.poll_seconds)


def _application(op: OperationRun) -> str:
    application = op.command.application
    moniker = op.context.get("moniker")
    asked = moniker.get("app") if isinstance(moniker, dict) else None
    if asked and str(asked).lower() != application.lower():
        raise AccessDenied(
            f"access denied: a pipeline of application {application!r} may not deploy manifests with moniker app "
            f"{asked!r}"
        )
    return application


def _strategy(context: Json) -> str:
    """The rollout strategy, which applies only with ``trafficManagement.enabled`` (as in Spinnaker's Orca:
    a strategy left in ``options`` of a pipeline with traffic management off retires no older version)."""
    traffic = context.get("trafficManagement")
    options = traffic.get("options") if isinstance(traffic, dict) else None
    strategy = str((options or {}).get("strategy") or "none").lower()
    if strategy not in STRATEGIES:
        raise OperationFailed(f"trafficManagement.options.strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    return strategy if isinstance(traffic, dict) and traffic.get("enabled") is True else "none"


async def deploy_manifest(op: OperationRun) -> Outcome:
    """Apply the stage's manifests, wait for them to be stable, then carry out the strategy."""
    account, provider = op.account()
    k8s = _kubernetes(provider, account)
    documents = manifests.read(await op.with_fetched_manifest())
    application = _application(op)
    strategy = _strategy(op.context)
    moniker = op.context.get("moniker") if isinstance(op.context.get("moniker"), dict) else {}
    override = op.context.get("namespaceOverride")
    default_namespace = k8s.default_namespace(account)
    required = _artifacts(op.context, "requiredArtifacts")
    candidates = [*required, *_artifacts(op.context, "optionalArtifacts")]
    bound: list[Json] = []
    prepared: list[tuple[int, Json]] = []
    for index, document in enumerate(documents):
        document, used = artifact_binding.bind_images(document, candidates)
        bound.extend(item for item in used if item not in bound)
        namespace = str(override or document["metadata"].get("namespace") or default_namespace)
        try:
            k8s.covers(account, document["kind"], None if document["kind"] == "Namespace" else namespace)
        except OperationFailed as refused:
            raise manifests.ManifestRefused(f"manifest {index} ({document['kind']}): {refused}") from None
        annotated = manifests.annotate(document, application=application, moniker=moniker or {}, namespace=namespace)
        prepared.append((index, annotated))
    _refuse_unbound(required, bound)
    # versioned ConfigMaps and Secrets first, so the workloads can name their versions
    prepared.sort(
        key=lambda pair: (pair[1]["kind"] not in ("Namespace",), pair[1]["kind"] not in ("ConfigMap", "Secret"))
    )
    chosen: dict[int, ManifestStrategy] = {}
    for index, manifest in prepared:
        try:
            chosen[index] = strategy_of(manifest, rollout=strategy)
        except OperationFailed as refused:
            raise manifests.ManifestRefused(
                f"manifest {index} ({manifest['kind']} {manifest['metadata']['name']}): {refused}"
            ) from None
    renamed: dict[tuple[str, str], str] = {}
    final: list[tuple[int, Json]] = []
    for index, manifest in prepared:
        manifest = manifests.rewrite_references(manifest, renamed)
        source: str | None = manifest["metadata"]["name"]
        if manifests.is_versioned(manifest):
            name, sequence, source = await manifest_versions.choose_version(op, k8s, account, manifest)
            renamed[(manifest["kind"].lower(), manifest["metadata"]["name"])] = name
            manifest = manifests.rename(manifest, name, sequence)
        if chosen[index].use_source_capacity:
            manifest = await manifest_versions.with_source_capacity(op, k8s, account, manifest, source)
        final.append((index, manifest))
    named, enable = traffic.services(op.context)
    if strategy in ("redblack", "bluegreen") and not named:
        raise OperationFailed(f"the {strategy} strategy needs trafficManagement with options.services")
    if strategy != "none" and named and not enable:
        # Spinnaker's UI always sends enableTraffic with a strategy; without it the older versions would
        # leave the Services while the new one never joins them, and the Services would answer nobody
        raise OperationFailed(
            f"trafficManagement.options.enableTraffic is false: the {strategy} strategy would take the older "
            "versions out of the Services with the new one never in them; set enableTraffic to true, or deploy "
            "with strategy none (a dark rollout)"
        )
    selected = await _join_services(op, k8s, account, final, named, enable)
    final = [(index, manifests.with_last_applied(manifest)) for index, manifest in final]
    created_namespaces = {m["metadata"]["name"] for _, m in final if m["kind"] == "Namespace"}
    for index, manifest in final:
        if manifest["kind"] != "Namespace" and manifest["metadata"].get("namespace") in created_namespaces:
            continue  # its namespace does not exist until the real apply
        await _apply(op, k8s, account, index, manifest, chosen[index], dry_run=True)
    before = await _templates_before(op, k8s, account, [manifest for _, manifest in final])
    applied = []
    for index, manifest in final:
        applied.append(await _apply(op, k8s, account, index, manifest, chosen[index], dry_run=False))
        how = {"apply": "applied", "replace": "replaced", "recreate": "recreated"}[chosen[index].deploy]
        await op.progress(f"{how} {manifests.manifest_name(manifest)} in {manifest['metadata'].get('namespace', '')}")
    op.touched.add(account.name)
    try:
        await _wait_stable(op, k8s, account, applied)
    except Unstable as unstable:
        raise await _roll_back(op, k8s, account, unstable, applied, selected, before) from None
    for (index, _), deployed in zip(final, applied, strict=True):
        await manifest_versions.trim_history(op, k8s, account, deployed, chosen[index])
    if strategy != "none":
        await _retire_older(op, k8s, account, applied, selected, delete=strategy == "highlander")
    outcome = _outcome(account, applied)
    outcome.outputs["outputs.boundArtifacts"] = bound
    return outcome


async def _templates_before(
    op: OperationRun, k8s: KubernetesProvider, account: Account, documents: list[Json]
) -> dict[tuple[str, str], Json | None]:
    """Each Deployment's pod template before this deploy (``None`` for a new one), recorded before
    anything is applied, so a resumed run rolls back to the same one."""
    found: dict[tuple[str, str], Json | None] = {}
    for manifest in documents:
        if manifest["kind"] != "Deployment":
            continue
        namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]

        async def read(manifest: Json = manifest) -> Json | None:
            return await rollouts.template_before(k8s, account, manifest)

        found[(namespace, name)] = await op.decide(f"before:deployment/{namespace}/{name}", read)
    return found


async def _roll_back(
    op: OperationRun,
    k8s: KubernetesProvider,
    account: Account,
    unstable: Unstable,
    applied: list[Json],
    selected: dict[str, Json],
    before: dict[tuple[str, str], Json | None],
) -> OperationFailed:
    """Undo a rollout that did not become stable, and the failure that says so and why: a red/black
    ReplicaSet leaves its Services (the older versions keep them); a Deployment whose pod template
    this stage changed goes back to the one it ran before (``kubectl rollout undo``)."""
    live = unstable.live
    why = stability.unready(await rollouts.pods_of(k8s, account, live)) if live else ""
    message = f"{unstable}" + (f"; {why}" if why else "")
    if selected:
        for manifest in applied:  # the new version leaves its Services, the old ones keep them
            namespace = manifest["metadata"].get("namespace", "")
            if manifest["kind"] == "ReplicaSet" and namespace in selected:
                await traffic.disable(k8s, account, manifest, selected[namespace])
        message += "; the new version was taken out of its Services"
    target = unstable.target
    if target["kind"] != "Deployment" or live is None:
        return OperationFailed(message)
    namespace, name = target["metadata"]["namespace"], target["metadata"]["name"]
    previous = before.get((namespace, name))
    if previous is None:
        return OperationFailed(f"{message}; not rolled back: deployment {name} had no earlier revision")
    if previous == (live.get("spec") or {}).get("template"):
        return OperationFailed(f"{message}; not rolled back: this stage did not change deployment {name}'s pods")
    restored = await rollouts.restore(k8s, account, live, previous)
    back = f"rolled deployment {name} back to the revision it ran before this stage ({rollouts.images(previous)})"
    await op.progress(f"{back} in {namespace}")
    try:
        await _wait_stable(op, k8s, account, [restored])
    except Unstable as again:
        return OperationFailed(f"{message}; {back}, which is not stable either: {again}")
    return OperationFailed(f"{message}; {back}")


async def _join_services(
    op: OperationRun,
    k8s: KubernetesProvider,
    account: Account,
    final: list[tuple[int, Json]],
    named: list[str],
    enable: bool,
) -> dict[str, Json]:
    """Give each workload (in ``final``, changed in place) the Services it is to join: the stage's
    ``trafficManagement`` ones (``named``, recorded in ``traffic.spinnaker.io/load-balancers``; joined
    when ``enable``) or those its own annotation names (joined unless traffic management is on with
    ``enableTraffic: false``). The answer: the stage's Services' selector labels per namespace, which
    red/black takes off the older ReplicaSets."""
    beside = traffic.services_in([manifest for _, manifest in final])
    selected: dict[str, Json] = {}
    for position, (index, manifest) in enumerate(final):
        kind = manifest["kind"]
        if kind not in traffic.RECEIVES_TRAFFIC:
            continue
        label = f"manifest {index} ({kind} {manifest['metadata']['name']})"
        own = named_services(manifest)
        if named and own and sorted(own) != sorted(manifests.split_name(text)[1] for text in named):
            raise manifests.ManifestRefused(
                f"{label}: its {LOAD_BALANCERS} names {own}, the stage's trafficManagement {named}; "
                "name the same Services in both, or in one of them"
            )
        if named and kind == "ReplicaSet":
            namespace = manifest["metadata"]["namespace"]
            if namespace not in selected:
                selected[namespace] = await traffic.labels(k8s, account, namespace, named, beside)
            final[position] = (index, traffic.with_traffic(manifest, named, selected[namespace], enable))
            continue
        if named:  # not versioned: nothing older for red/black to take out, so it only joins them
            notes = {**manifests.notes_of(manifest), LOAD_BALANCERS: json.dumps(named)}
            manifest = {**manifest, "metadata": {**manifest["metadata"], "annotations": notes}}
            final[position] = (index, manifest)
        # as Orca sends it: with traffic management off, a workload always joins the Services it names
        if named_services(manifest) and (enable or not traffic.managed(op.context)):
            try:
                final[position] = (index, await traffic.attach_named(k8s, account, manifest, beside))
            except OperationFailed as refused:
                raise manifests.ManifestRefused(f"{label}: {refused}") from None
    return selected


def _refuse_unbound(required: list[Json], bound: list[Json]) -> None:
    """Refuse, in Spinnaker's words, a stage whose required artifacts no image took."""
    missing = artifact_binding.unbound(required, bound)
    if missing:
        raise manifests.ManifestRefused(
            f"The following required artifacts could not be bound: "
            f"'[{', '.join(artifact_binding.shown(item) for item in missing)}]'. Check that the Docker image name "
            "above matches the name used in the image field of your manifest. Failing the stage as this is likely "
            "a configuration error."
        )


def _artifacts(context: Json, key: str) -> list[Json]:
    value = context.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


async def _apply(
    op: OperationRun,
    k8s: KubernetesProvider,
    account: Account,
    index: int,
    manifest: Json,
    how: ManifestStrategy,
    *,
    dry_run: bool,
) -> Json:
    try:
        return await manifest_versions.put(op, k8s, account, manifest, how, dry_run=dry_run)
    except ApiRefused as refused:
        raise OperationFailed(
            f"manifest {index} ({manifest['kind']} {manifest['metadata']['name']}): "
            f"the API server refused it: {refused}"
        ) from None


async def _retire_older(
    op: OperationRun,
    k8s: KubernetesProvider,
    account: Account,
    applied: list[Json],
    selected: dict[str, Json],
    *,
    delete: bool,
) -> None:
    """The strategy's last step for every versioned workload just deployed: take the older versions of
    its cluster (same kind, namespace, moniker) out of its Services' traffic (red/black), and delete
    them too (highlander)."""
    for manifest in applied:
        notes = manifests.notes_of(manifest)
        if f"{manifests.MONIKER}sequence" not in notes or manifest["kind"] in ("ConfigMap", "Secret"):
            continue
        namespace, cluster = manifest["metadata"]["namespace"], notes.get(f"{manifests.MONIKER}cluster")
        for item in await k8s.list_kind(account, manifest["kind"], namespace):
            other = manifests.notes_of(item)
            if (
                item["metadata"]["name"] == manifest["metadata"]["name"]
                or other.get(f"{manifests.MONIKER}cluster") != cluster
                or other.get(f"{manifests.MONIKER}application") != notes.get(f"{manifests.MONIKER}application")
            ):
                continue
            if namespace in selected and item["kind"] == "ReplicaSet":
                await traffic.disable(k8s, account, item, selected[namespace])
                await op.progress(f"disabled {manifests.manifest_name(item)} in {namespace}")
            if delete:
                await k8s.delete(account, item["kind"], namespace, item["metadata"]["name"])
                await op.progress(f"highlander: deleted {manifests.manifest_name(item)} in {namespace}")


async def _target(op: OperationRun) -> tuple[Account, KubernetesProvider, str, str, str]:
    """The account, provider, kind, namespace and name of a ``manifestName``/``location`` stage."""
    account, provider = op.account()
    k8s = _kubernetes(provider, account)
    kind, namespace, name = await _resolve_target(op, k8s, account)
    return account, k8s, kind, namespace, name


async def _resolve_target(op: OperationRun, k8s: KubernetesProvider, account: Account) -> tuple[str, str, str]:
    """``manifestName`` (``mode: static``), or the manifest ``cluster`` and ``criteria`` choose
    (``mode: dynamic``: :mod:`workers.clouddriver.kubernetes.targets`), recorded so a resumed run
    acts on the same one."""
    namespace = str(op.context.get("location") or k8s.default_namespace(account))
    mode = op.context.get("mode") or "static"
    if mode == "dynamic":
        cluster = op.context.get("cluster")
        if not isinstance(cluster, str) or " " not in cluster:
            raise OperationFailed("mode 'dynamic' needs 'cluster', e.g. 'replicaSet web', and 'criteria'")
        kind = manifests.split_name(cluster)[0]
        criteria = str(op.context.get("criteria") or "")

        async def chosen() -> str:
            items = await k8s.list_kind(account, kind, namespace)
            picked = targets.choose(items, application=op.command.application, cluster=cluster, criteria=criteria)
            return str(picked["metadata"]["name"])

        name = str(await op.decide(f"target:{namespace}/{cluster}/{criteria}", chosen))
        await op.progress(f"{criteria} of cluster {cluster} in {namespace}: {name}")
        return kinds.canonical(kind), namespace, name
    if mode != "static":
        raise OperationFailed(f"mode {mode!r} is not one of static (a manifestName) or dynamic (cluster and criteria)")
    text = op.context.get("manifestName")
    if not isinstance(text, str):
        raise OperationFailed("this stage needs 'manifestName', e.g. 'deployment web'")
    kind, name = manifests.split_name(text)
    return kind, namespace, name


async def _owned(
    op: OperationRun, k8s: KubernetesProvider, account: Account, kind: str, namespace: str, name: str
) -> Json | None:
    """The live object, refused unless it belongs to the pipeline's application."""
    live = await k8s.get(account, kind, namespace, name)
    if live is None:
        return None
    owner = manifests.application_of(live)
    if owner is None or owner.lower() != op.command.application.lower():
        raise AccessDenied(
            f"access denied: a pipeline of application {op.command.application!r} may not change "
            f"{manifests.manifest_name(live)} in {namespace}, which belongs to application {owner!r} "
            f"({op.access.authority.described()})"
        )
    return live


def _propagation(options: Json) -> str:
    """Kubernetes' ``propagationPolicy`` for a delete, as Clouddriver reads the stage's ``options``:
    ``orphanDependents`` first, else ``cascading`` (``false`` orphans, ``true`` is background, or a
    policy by name), else background."""
    orphan = options.get("orphanDependents")
    if orphan is not None:
        return "orphan" if str(orphan).lower() == "true" else "background"
    cascading = options.get("cascading")
    if cascading is None:
        return "background"
    named = str(cascading).lower()
    return {"false": "orphan", "true": "background"}.get(named, named)


async def delete_manifest(op: OperationRun) -> Outcome:
    """Delete the named manifest, or (``mode: label``) every object of ``kinds`` in ``location`` that
    ``labelSelectors`` selects; gone already is fine. Dependants go too (background) unless
    ``options.cascading`` is false (``orphanDependents``), which leaves them without their owner."""
    options = op.context.get("options") if isinstance(op.context.get("options"), dict) else {}
    propagation = _propagation(options or {})
    if op.context.get("mode") == "label" or (not op.context.get("manifestName") and op.context.get("kinds")):
        account, provider = op.account()
        k8s = _kubernetes(provider, account)
        namespace = str(op.context.get("location") or k8s.default_namespace(account))
        doomed = await _selected_by_labels(op, k8s, account, namespace)
    else:
        account, k8s, kind, namespace, name = await _target(op)
        live = await _owned(op, k8s, account, kind, namespace, name)
        doomed = [[kind, name]] if live is not None else []
        if live is None:
            await op.progress(f"{kind} {name} in {namespace} is gone already")
    for kind, name in doomed:
        if await k8s.delete(account, kind, namespace, name, propagation=propagation):
            op.touched.add(account.name)
            await op.progress(f"deleted {kind[:1].lower()}{kind[1:]} {name} in {namespace} ({propagation})")
    if not doomed and op.context.get("manifestName"):
        kind, name = manifests.split_name(str(op.context["manifestName"]))
        doomed = [[kind, name]]
    names = {namespace: [f"{kind[:1].lower()}{kind[1:]} {name}" for kind, name in doomed]}
    return Outcome(
        outputs={"outputs.manifestNamesByNamespace": names, "deploy.account.name": account.name},
        context={"manifestNamesByNamespace": names},
    )


async def _selected_by_labels(
    op: OperationRun, k8s: KubernetesProvider, account: Account, namespace: str
) -> list[list[str]]:
    """``[kind, name]`` of every object of the context's ``kinds`` in ``namespace`` its
    ``labelSelectors`` select, recorded so a resumed run deletes the same ones; refused, before
    any is deleted, when one belongs to another application than the pipeline's."""
    asked = op.context.get("kinds")
    if not isinstance(asked, list) or not asked or not all(isinstance(kind, str) and kind for kind in asked):
        raise OperationFailed("deleteManifest by label needs 'kinds': a list like ['deployment', 'configMap']")
    selector = label_selectors.parse(op.context)

    async def choose() -> list[list[str]]:
        found: list[list[str]] = []
        for kind in dict.fromkeys(kinds.canonical(kind) for kind in asked):
            k8s.covers(account, kind, namespace)
            for item in await k8s.list_kind(account, kind, namespace, labels=selector):
                owner = manifests.application_of(item)
                if owner is None or owner.lower() != op.command.application.lower():
                    raise AccessDenied(
                        f"access denied: {label_selectors.shown(selector)} selects {manifests.manifest_name(item)} "
                        f"in {namespace}, which belongs to application {owner!r}, not {op.command.application!r}; "
                        f"nothing was deleted ({op.access.authority.described()})"
                    )
                found.append([kind, str(item["metadata"]["name"])])
        return found

    chosen = await op.decide(f"delete:{namespace}/{','.join(asked)}/{label_selectors.shown(selector)}", choose)
    await op.progress(f"{label_selectors.shown(selector)} selects {len(chosen)} objects in {namespace}")
    return [[str(kind), str(name)] for kind, name in chosen]


async def scale_manifest(op: OperationRun) -> Outcome:
    """Set ``spec.replicas`` to ``replicas`` and wait until the manifest is stable."""
    account, k8s, kind, namespace, name = await _target(op)
    replicas = op.context.get("replicas")
    if isinstance(replicas, str) and replicas.isdigit():
        replicas = int(replicas)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise OperationFailed(f"replicas must be a whole number of at least 0; got {replicas!r}")
    limit = account.details.get("maxCapacity")
    limit = limit if isinstance(limit, int) else k8s.default_max_capacity
    if replicas > limit:
        raise OperationFailed(
            f"replicas {replicas} is more than account {account.name!r} allows ({limit}, its maxCapacity)"
        )
    if await _owned(op, k8s, account, kind, namespace, name) is None:
        raise OperationFailed(f"{kind} {name} not found in {account.name}/{namespace}")
    scaled = await k8s.patch(account, kind, namespace, name, {"spec": {"replicas": replicas}}, "merge")
    op.touched.add(account.name)
    await op.progress(f"scaled {manifests.manifest_name(scaled)} in {namespace} to {replicas}")
    await _wait_stable(op, k8s, account, [scaled])
    return _outcome(account, [scaled])


async def _patch_body(op: OperationRun, strategy: str) -> Any:
    """The patch: ``patchBody``, or with ``source: artifact`` the documents of ``manifestArtifact``
    (fetched when it is an ``http/file``, ``github/file`` or ``gitlab/file`` one); one object for a
    strategic or merge patch, a list of operations for a json one, as Orca's ``PatchManifestTask``
    shapes it."""
    if op.context.get("source") == "artifact":
        body: Any = manifests.patch_documents(await op.with_fetched_manifest())
        if strategy == "json" and len(body) == 1 and isinstance(body[0], list):
            body = body[0]  # one YAML document that is the list of operations
    else:
        body = op.context.get("patchBody")
    if isinstance(body, list) and strategy != "json":
        if len(body) > 1:
            raise OperationFailed(
                f"Only one patch object is valid when patching with the {strategy} strategy; got {len(body)}"
            )
        body = body[0] if body else None
    if not isinstance(body, dict | list) or not body:
        raise OperationFailed(
            "patchManifest needs a patch: 'patchBody' (an object; a list of operations for json), or "
            "source 'artifact' with a manifestArtifactId or manifestArtifact holding it"
        )
    return body


async def patch_manifest(op: OperationRun) -> Outcome:
    """Patch the named manifest with ``patchBody`` or the patch in its artifact (:func:`_patch_body`;
    ``options.mergeStrategy``: strategic, merge or json). The images of a strategic or merge patch's
    pod template are replaced by the stage's bound ``docker/image`` artifacts, as a deploy's are
    (:mod:`~workers.clouddriver.kubernetes.artifact_binding`); a required one no image took fails it."""
    account, k8s, kind, namespace, name = await _target(op)
    options = op.context.get("options") if isinstance(op.context.get("options"), dict) else {}
    strategy = str((options or {}).get("mergeStrategy") or "strategic")
    body = await _patch_body(op, strategy)
    bound: list[Json] = []
    if strategy != "json" and isinstance(body, dict):  # as Clouddriver, images of a json patch are not replaced
        required = _artifacts(op.context, "requiredArtifacts")
        candidates = [*required, *_artifacts(op.context, "optionalArtifacts")]
        replaced, bound = artifact_binding.bind_images({**body, "kind": kind}, candidates)
        body = {key: value for key, value in replaced.items() if key != "kind" or "kind" in body}
        _refuse_unbound(required, bound)
    if "moniker.spinnaker.io/application" in str(body).replace("~1", "/"):
        raise AccessDenied("access denied: a patch may not change an object's moniker.spinnaker.io/application")
    if await _owned(op, k8s, account, kind, namespace, name) is None:
        raise OperationFailed(f"{kind} {name} not found in {account.name}/{namespace}")
    try:
        patched = await k8s.patch(account, kind, namespace, name, body, strategy)
    except ApiRefused as refused:
        raise OperationFailed(f"{kind} {name}: the API server refused the patch: {refused}") from None
    op.touched.add(account.name)
    await _wait_stable(op, k8s, account, [patched])
    outcome = _outcome(account, [patched])
    outcome.outputs["outputs.boundArtifacts"] = bound
    return outcome


RESTARTABLE = ("Deployment", "StatefulSet", "DaemonSet")
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


async def rolling_restart_manifest(op: OperationRun) -> Outcome:
    """Restart a Deployment's, StatefulSet's or DaemonSet's pods as ``kubectl rollout restart`` does
    (a new ``restartedAt`` pod template annotation, recorded so a resumed run restarts once), then
    wait until it is stable."""
    account, k8s, kind, namespace, name = await _target(op)
    if kind not in RESTARTABLE:
        raise OperationFailed(f"rollingRestartManifest restarts {', '.join(RESTARTABLE)}, not {kind}")
    if await _owned(op, k8s, account, kind, namespace, name) is None:
        raise OperationFailed(f"{kind} {name} not found in {account.name}/{namespace}")

    async def stamp() -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    restarted_at = await op.decide(f"restart:{kind}/{namespace}/{name}", stamp)
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}}
    restarted = await k8s.patch(account, kind, namespace, name, body, "strategic")
    op.touched.add(account.name)
    await op.progress(f"restarting {manifests.manifest_name(restarted)} in {namespace}")
    await _wait_stable(op, k8s, account, [restarted])
    return _outcome(account, [restarted])


def _images(manifest: Json) -> list[Json]:
    spec = manifest.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") if manifest.get("kind") != "Pod" else spec
    if manifest.get("kind") == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    found = []
    for container in [*((pod or {}).get("initContainers") or []), *((pod or {}).get("containers") or [])]:
        image = str(container.get("image") or "")
        if image:
            bare = image.split("@", 1)[0]
            repository = bare.rsplit(":", 1)[0] if ":" in bare.rsplit("/", 1)[-1] else bare
            found.append({"type": "docker/image", "name": repository, "reference": image})
    return found


async def find_artifacts_from_resource(op: OperationRun) -> Outcome:
    """The live manifest (a Secret's without its values) and the ``docker/image`` artifacts its containers
    run (READ on the account)."""
    account, provider = op.account(only_to_look=True)
    k8s = _kubernetes(provider, account)
    kind, namespace, name = await _resolve_target(op, k8s, account)
    live = await k8s.get(account, kind, namespace, name)
    if live is None:
        raise OperationFailed(f"{kind} {name} not found in {account.name}/{namespace}")
    owner = manifests.application_of(live)
    if owner is None or owner.lower() != op.command.application.lower():
        await op.access.require_application(owner or name, Permission.READ)
    artifacts = _images(live)
    return Outcome(outputs={"manifest": _shown(live), "artifacts": artifacts}, context={"artifacts": artifacts})


async def run_job_manifest(op: OperationRun) -> Outcome:
    """Run the stage's one Job (named with a suffix recorded once, so a resumed run waits for the same
    Job) and wait for it to finish: ``Complete`` succeeds, ``Failed`` fails the stage with the reason.
    With ``propertyFile`` (a container's name) the properties its log prints become outputs, and
    ``propertyFileContents`` (:mod:`workers.clouddriver.kubernetes.properties`)."""
    account, provider = op.account()
    k8s = _kubernetes(provider, account)
    documents = manifests.read(await op.with_fetched_manifest())
    if len(documents) != 1 or documents[0]["kind"] != "Job":
        raise manifests.ManifestRefused("runJobManifest runs exactly one manifest of kind Job")
    application = _application(op)
    job = documents[0]
    namespace = str(
        op.context.get("namespaceOverride") or job["metadata"].get("namespace") or k8s.default_namespace(account)
    )
    k8s.covers(account, "Job", namespace)

    async def suffix() -> str:
        return str(op.command.task_id).lower()[-5:]

    base = job["metadata"]["name"]
    name = f"{base}-{await op.decide(f'job:{namespace}/{base}', suffix)}"
    annotated = manifests.annotate(
        job, application=application, moniker=op.context.get("moniker") or {}, namespace=namespace
    )
    annotated["metadata"]["name"] = name
    applied = await _apply(op, k8s, account, 0, annotated, ManifestStrategy(), dry_run=False)
    op.touched.add(account.name)
    await op.progress(f"started job {name} in {namespace}")
    jobs = {"deploy.jobs": {namespace: [f"job {name}"]}}
    try:
        await _wait_stable(op, k8s, account, [applied])
    except OperationFailed:
        failed = await k8s.get(account, "Job", namespace, name)
        if failed is None or not stability.judge(failed).failed:
            raise  # out of time, or gone: no job result to keep
        # as Orca's WaitOnJobCompletion: a failed Job's properties (if its log printed any) and status
        # are kept in the stage's context before the stage fails
        read = await _property_file(op, k8s, account, failed, op.context.get("propertyFile"), required=False)
        op.partial.update(jobs, jobStatus=failed.get("status") or {}, **_properties(read))
        raise
    finished = await k8s.get(account, "Job", namespace, name) or applied
    read = await _property_file(op, k8s, account, finished, op.context.get("propertyFile"), required=True)
    return _outcome(account, [finished], **jobs, jobStatus=finished.get("status") or {}, **_properties(read))


def _properties(read: Json) -> Json:
    """A job's properties as Orca puts them in a stage: each at the top, and all as ``propertyFileContents``."""
    return {**read, "propertyFileContents": read} if read else {}


MAX_PROPERTY_LOG = 1024 * 1024


async def _property_file(
    op: OperationRun, k8s: KubernetesProvider, account: Account, job: Json, container: object, *, required: bool
) -> Json:
    """Spinnaker's ``propertyFile``: the properties ``container`` of the Job's pod (a succeeded one
    first) printed; none when the stage names no ``propertyFile``. None found fails the stage with
    Orca's words when ``required`` (a Job that succeeded), and is no error for a Job that failed,
    whose own failure is the stage's reason."""
    if not container:
        return {}
    container = str(container)
    namespace, name, uid = job["metadata"]["namespace"], job["metadata"]["name"], job["metadata"].get("uid")
    pods = [
        pod
        for pod in await k8s.list_kind(account, "Pod", namespace)
        if any(ref.get("uid") == uid for ref in pod["metadata"].get("ownerReferences") or [])
    ]
    pods.sort(key=lambda pod: (pod.get("status") or {}).get("phase") != "Succeeded")
    found: Json | None = None
    reason = "no pod of the job was found"
    for pod in pods[:1]:
        try:
            log = await k8s.pod_log(account, namespace, pod["metadata"]["name"], container, limit=MAX_PROPERTY_LOG)
        except ApiRefused as refused:
            reason = str(refused)
            continue
        found = properties.parse(log)
        reason = "its log holds no SPINNAKER_PROPERTY_ or valid SPINNAKER_CONFIG_JSON line"
    if not found and not required:
        return {}
    if not found:
        raise OperationFailed(
            f"Expected properties file: {container} in job: {name}, application: {op.command.application}, "
            f"location: {namespace}, account: {account.name} but it was either missing, empty or contained "
            f"invalid syntax ({reason})"
        )
    await op.progress(f"read {len(found)} properties from {container} of job {name}")
    return found


REVISION = "deployment.kubernetes.io/revision"


async def undo_rollout_manifest(op: OperationRun) -> Outcome:
    """Roll a Deployment back ``numRevisionsBack`` revisions (default 1; or to ``revision``) as
    ``kubectl rollout undo`` does: its pod template becomes that revision's ReplicaSet's; then wait
    until it is stable. The target is recorded, so a resumed run rolls back to the same one."""
    account, k8s, kind, namespace, name = await _target(op)
    if kind != "Deployment":
        raise OperationFailed(f"undoRolloutManifest rolls back Deployments, not {kind}")
    live = await _owned(op, k8s, account, kind, namespace, name)
    if live is None:
        raise OperationFailed(f"{kind} {name} not found in {account.name}/{namespace}")

    async def target() -> Json:
        uid = live["metadata"].get("uid")
        owned = [
            rs
            for rs in await k8s.list_kind(account, "ReplicaSet", namespace)
            if any(ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences") or [])
        ]
        revisions = sorted(
            (int(manifests.notes_of(rs).get(REVISION, "0") or 0), rs)
            for rs in owned
            if manifests.notes_of(rs).get(REVISION)
        )
        asked = op.context.get("revision")
        back = op.context.get("numRevisionsBack", 1)
        if isinstance(asked, int | str) and str(asked).isdigit():
            chosen = next((rs for number, rs in revisions if number == int(asked)), None)
        elif isinstance(back, int) and 0 < back < len(revisions):
            chosen = revisions[-1 - back][1]
        else:
            chosen = None
        if chosen is None:
            known = [number for number, _ in revisions]
            raise OperationFailed(
                f"deployment {name} in {namespace} has no revision to roll back to "
                f"(revision={asked!r}, numRevisionsBack={back!r}; its revisions: {known})"
            )
        template = dict(chosen["spec"]["template"])
        metadata = dict(template.get("metadata") or {})
        labels = {key: value for key, value in (metadata.get("labels") or {}).items() if key != "pod-template-hash"}
        template["metadata"] = {**metadata, "labels": labels}
        return template

    template = await op.decide(f"undo:{namespace}/{name}", target)
    body = [{"op": "replace", "path": "/spec/template", "value": template}]
    undone = await k8s.patch(account, kind, namespace, name, body, "json")
    op.touched.add(account.name)
    await op.progress(f"rolled {manifests.manifest_name(undone)} in {namespace} back")
    await _wait_stable(op, k8s, account, [undone])
    return _outcome(account, [undone])
