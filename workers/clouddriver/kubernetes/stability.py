"""Whether a deployed manifest is stable, still rolling out, or has failed: Spinnaker's rules per kind.

As Clouddriver's Kubernetes handlers judge a manifest's status: a **Deployment** is stable once
its controller has seen the current generation and every replica is updated, ready and
available (failed when its ``Progressing`` condition says ``ProgressDeadlineExceeded`` for the
current generation — a rollback's first status still carries the failed rollout's —, paused
is never stable); a **ReplicaSet** or **StatefulSet** once ``readyReplicas`` and
``availableReplicas`` reach ``spec.replicas`` for the observed generation (a StatefulSet also
needs ``currentRevision == updateRevision``); a **DaemonSet** once every scheduled pod is
updated and available; a **Job** once it has the ``Complete`` condition (failed with
``Failed``); a **Pod** once it is Running and Ready (failed once ``Failed``). Every other kind
(Service, ConfigMap, Secret, Namespace…) is stable when it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.json_types import Json


@dataclass(frozen=True)
class Stability:
    """``stable``, or a ``failed`` reason, or neither (``waiting`` says for what)."""

    stable: bool
    failed: str | None = None
    waiting: str = ""


STABLE = Stability(stable=True)


def _condition(status: Json, kind: str) -> Json | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _observed(manifest: Json, status: Json) -> Stability | None:
    generation = (manifest.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return Stability(False, waiting="waiting for the controller to see the new generation")
    return None


def _count(status: Json, key: str) -> int:
    return int(status.get(key) or 0)


def judge(manifest: Json) -> Stability:
    """How the manifest stands now (``manifest`` as the API server returned it, status included)."""
    kind = str(manifest.get("kind", ""))
    spec: Json = manifest.get("spec") or {}
    status: Json = manifest.get("status") or {}
    if kind == "Deployment":
        unseen = _observed(manifest, status)
        if unseen:  # conditions of an older generation (a progress deadline it exceeded) say nothing of this one
            return unseen
        progressing = _condition(status, "Progressing")
        if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
            return Stability(
                False, failed=f"Deployment exceeded its progress deadline: {progressing.get('message', '')}"
            )
        if spec.get("paused"):
            return Stability(False, waiting="the rollout is paused")
        wanted = int(spec.get("replicas", 1))
        for key, label in (
            ("updatedReplicas", "updated"),
            ("availableReplicas", "available"),
            ("readyReplicas", "ready"),
        ):
            if _count(status, key) < wanted:
                return Stability(
                    False, waiting=f"waiting for all replicas to be {label} ({_count(status, key)}/{wanted})"
                )
        if _count(status, "replicas") > wanted:
            return Stability(False, waiting="waiting for old replicas to finish termination")
        return STABLE
    if kind in ("ReplicaSet", "StatefulSet"):
        unseen = _observed(manifest, status)
        if unseen:
            return unseen
        wanted = int(spec.get("replicas", 1))
        for key, label in (("readyReplicas", "ready"), ("availableReplicas", "available")):
            if _count(status, key) < wanted:
                return Stability(
                    False, waiting=f"waiting for all replicas to be {label} ({_count(status, key)}/{wanted})"
                )
        if kind == "StatefulSet" and status.get("currentRevision") != status.get("updateRevision"):
            return Stability(False, waiting="waiting for the rolling update to finish")
        return STABLE
    if kind == "DaemonSet":
        unseen = _observed(manifest, status)
        if unseen:
            return unseen
        wanted = _count(status, "desiredNumberScheduled")
        for key, label in (("updatedNumberScheduled", "updated"), ("numberAvailable", "available")):
            if _count(status, key) < wanted:
                return Stability(False, waiting=f"waiting for all pods to be {label} ({_count(status, key)}/{wanted})")
        return STABLE
    if kind == "Job":
        failed = _condition(status, "Failed")
        if failed and failed.get("status") == "True":
            return Stability(
                False, failed=f"Job failed: {failed.get('reason', '')} {failed.get('message', '')}".strip()
            )
        complete = _condition(status, "Complete")
        if complete and complete.get("status") == "True":
            return STABLE
        return Stability(False, waiting="waiting for the job to complete")
    if kind == "Pod":
        if status.get("phase") == "Failed":
            return Stability(False, failed=f"Pod failed: {status.get('reason', '')}".strip())
        ready = _condition(status, "Ready")
        if status.get("phase") == "Running" and ready and ready.get("status") == "True":
            return STABLE
        if status.get("phase") == "Succeeded":
            return STABLE
        return Stability(False, waiting="waiting for the pod to be running and ready")
    return STABLE


def _pod_problem(pod: Json) -> str | None:
    """Why one pod is not ready, as its status tells (``None`` when it is ready): a container's
    waiting or terminated reason (``CrashLoopBackOff``, ``ImagePullBackOff``…) first, else the
    ``Ready`` condition's reason and message, else its phase."""
    if judge(pod).stable:
        return None
    status: Json = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        if container.get("ready"):
            continue
        state: Json = container.get("state") or {}
        for how in ("waiting", "terminated"):
            detail = state.get(how)
            if isinstance(detail, dict) and detail.get("reason"):
                message = f": {detail['message']}" if detail.get("message") else ""
                return f"container {container.get('name')} {how} ({detail['reason']}{message})"
    ready = _condition(status, "Ready")
    if ready and ready.get("reason"):
        message = f": {ready['message']}" if ready.get("message") else ""
        return f"{ready['reason']}{message}"
    return f"phase {status.get('phase') or 'Pending'}"


def unready(pods: list[Json]) -> str:
    """Why ``pods`` are not ready, each reason once with the pods that have it
    (``"2 of 2 pods not ready: web-1, web-2: ContainersNotReady: containers with unready status: [main]"``);
    empty when every pod is ready or there is none."""
    reasons: dict[str, list[str]] = {}
    for pod in pods:
        problem = _pod_problem(pod)
        if problem is not None:
            reasons.setdefault(problem, []).append(str((pod.get("metadata") or {}).get("name")))
    if not reasons:
        return ""
    count = sum(len(names) for names in reasons.values())
    shown = "; ".join(
        f"{', '.join(sorted(names)[:3])}{'…' if len(names) > 3 else ''}: {why}" for why, names in reasons.items()
    )
    return f"{count} of {len(pods)} pods not ready: {shown}"
