"""The local API server's controllers: what kube-controller-manager and the kubelets would do, in one loop.

Every ``tick`` seconds:

* a **Deployment** owns one ReplicaSet per pod template (``{name}-{hash}``, labelled
  ``pod-template-hash``); the current one is scaled to ``spec.replicas``, older ones to 0 once
  the current one is available; its status counts them (``updatedReplicas``, ``readyReplicas``,
  ``availableReplicas``, ``observedGeneration``) with the ``Available`` and ``Progressing``
  conditions — ``ProgressDeadlineExceeded`` once ``spec.progressDeadlineSeconds`` pass without
  the rollout completing; each time it scales a ReplicaSet it records a ``ScalingReplicaSet`` event
  (:mod:`tests.kubernetes_server.events`);
* a **ReplicaSet** or **StatefulSet** keeps ``spec.replicas`` pods, a **DaemonSet** one (this
  cluster has one node), a **Job** one until it finishes;
* a **Pod** is ``Running`` and ``Ready`` ``ready_seconds`` after it was created — never, if its
  annotation ``test.gennaker.io/never-ready`` is ``"true"`` or an image contains
  ``never-ready`` (its ``Ready`` condition then says ``ContainersNotReady``, as a failing
  readiness probe does); a Job's pod ``Succeeded`` after ``job_seconds``, or ``Failed`` if the
  annotation ``test.gennaker.io/fail`` is ``"true"`` or an image contains ``fail``;
* a ReplicaSet, StatefulSet or DaemonSet releases a pod whose labels stop matching its selector (and
  makes a new one in its place) and adopts an orphan pod that matches it;
* every Service with a selector has its **Endpoints**: the matching pods, Ready or not
  (:mod:`tests.kubernetes_server.endpoints`), brought up to date after the pods in each pass;
* objects whose owner is gone are deleted (garbage collection, background propagation).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from schemas.json_types import Json
from tests.kubernetes_server import endpoints, events, kinds, selectors
from tests.kubernetes_server.endpoints import ready as is_ready
from tests.kubernetes_server.store import ObjectStore, now

NEVER_READY = "test.gennaker.io/never-ready"
FAILS = "test.gennaker.io/fail"
KIND = {kind.kind: kind for kind in kinds.KINDS}


def _template_hash(template: Any) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _owner(obj: Json) -> Json:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(obj: Json, owner: Json) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"] for ref in obj["metadata"].get("ownerReferences") or [])


def _marked(pod: Json, annotation: str, word: str) -> bool:
    annotations = pod["metadata"].get("annotations") or {}
    images = [str(container.get("image", "")) for container in (pod.get("spec") or {}).get("containers") or []]
    return annotations.get(annotation) == "true" or any(word in image for image in images)


def _controlled(obj: Json) -> bool:
    return any(ref.get("controller") for ref in obj["metadata"].get("ownerReferences") or [])


def _pod_ip(uid: str) -> str:
    """An address of its own for each pod (from its uid), as a cluster's pod network gives one."""
    return f"10.{int(uid[0:2], 16)}.{int(uid[2:4], 16)}.{int(uid[4:6], 16)}"


@dataclass
class Controllers:
    """The reconciling loop over one :class:`ObjectStore`."""

    store: ObjectStore
    ready_seconds: float = 0.3
    job_seconds: float = 0.3
    tick: float = 0.05
    _seen: dict[str, float] = field(default_factory=dict)
    _progress: dict[str, tuple[int, float]] = field(default_factory=dict)

    async def run(self) -> None:
        """Reconcile forever (cancel to stop)."""
        while True:
            await self.reconcile()
            await asyncio.sleep(self.tick)

    async def reconcile(self) -> None:
        """One pass over every controller."""
        await self._collect_garbage()
        for deployment in self.store.list(KIND["Deployment"], None):
            await self._deployment(deployment)
        for replica_set in self.store.list(KIND["ReplicaSet"], None):
            await self._replicas(replica_set, int(replica_set["spec"].get("replicas", 1)))
        for stateful_set in self.store.list(KIND["StatefulSet"], None):
            await self._replicas(stateful_set, int(stateful_set["spec"].get("replicas", 1)))
        for daemon_set in self.store.list(KIND["DaemonSet"], None):
            await self._replicas(daemon_set, 1)
        for job in self.store.list(KIND["Job"], None):
            await self._job(job)
        for pod in self.store.list(KIND["Pod"], None):
            await self._pod(pod)
        await endpoints.reconcile(self.store)

    async def _collect_garbage(self) -> None:
        uids = {obj["metadata"]["uid"] for obj in self.store.objects.values()}
        for obj in list(self.store.objects.values()):
            references = obj["metadata"].get("ownerReferences") or []
            if references and not any(ref.get("uid") in uids for ref in references):
                kind = kinds.by_kind(obj["apiVersion"], obj["kind"], kinds.custom(self.store.list(kinds.CRD, None)))
                if kind is not None:
                    await self.store.delete(kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    async def _set_status(self, obj: Json, status: Json) -> None:
        if obj.get("status") != status:
            kind = KIND[obj["kind"]]
            obj["status"] = status
            await self.store.replace(
                kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], obj, status_only=True
            )

    async def _deployment(self, deployment: Json) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        namespace, replicas = meta["namespace"], int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        digest = _template_hash(template)
        owned = [rs for rs in self.store.list(KIND["ReplicaSet"], namespace) if _owned_by(rs, deployment)]
        current = next((rs for rs in owned if rs["metadata"]["labels"].get("pod-template-hash") == digest), None)
        revision = 1 + max(
            (
                int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
                for rs in owned
            ),
            default=0,
        )
        labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": digest}
        if current is None:
            current = await self.store.create(
                KIND["ReplicaSet"],
                namespace,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{meta['name']}-{digest}",
                        "labels": labels,
                        # as the deployment controller does: the Deployment's annotations but kubectl's record
                        # of what was applied to the Deployment, and the revision
                        "annotations": {
                            **{
                                key: value
                                for key, value in (meta.get("annotations") or {}).items()
                                if key != "kubectl.kubernetes.io/last-applied-configuration"
                            },
                            "deployment.kubernetes.io/revision": str(revision),
                        },
                        "ownerReferences": [_owner(deployment)],
                    },
                    "spec": {
                        "replicas": replicas,
                        "selector": {"matchLabels": {**spec["selector"]["matchLabels"], "pod-template-hash": digest}},
                        "template": {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}},
                    },
                },
            )
            await self._scaled(deployment, current, 0, replicas)
        elif current["spec"].get("replicas") != replicas:
            before = int(current["spec"].get("replicas", 1))
            current["spec"]["replicas"] = replicas
            current = await self.store.replace(KIND["ReplicaSet"], namespace, current["metadata"]["name"], current)
            await self._scaled(deployment, current, before, replicas)
        status = current.get("status") or {}
        complete = status.get("availableReplicas", 0) >= replicas and status.get("replicas", 0) == replicas
        old = [rs for rs in owned if rs["metadata"]["name"] != current["metadata"]["name"]]
        if complete:
            for rs in old:
                if rs["spec"].get("replicas") != 0:
                    before = int(rs["spec"].get("replicas", 1))
                    rs["spec"]["replicas"] = 0
                    await self.store.replace(KIND["ReplicaSet"], namespace, rs["metadata"]["name"], rs)
                    await self._scaled(deployment, rs, before, 0)
        everyone = [current, *old]
        total = sum((rs.get("status") or {}).get("replicas", 0) for rs in everyone)
        ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in everyone)
        generation = int(meta.get("generation", 1))
        started = self._progress.setdefault(meta["uid"], (generation, time.monotonic()))
        if started[0] != generation:
            started = self._progress[meta["uid"]] = (generation, time.monotonic())
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        if complete and total == replicas:
            progressing = {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{current["metadata"]["name"]}" has successfully progressed.',
            }
        elif time.monotonic() - started[1] > deadline:
            progressing = {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": f'ReplicaSet "{current["metadata"]["name"]}" has timed out progressing.',
            }
        else:
            progressing = {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated",
                "message": f'ReplicaSet "{current["metadata"]["name"]}" is progressing.',
            }
        available = {
            "type": "Available",
            "status": "True" if ready >= replicas else "False",
            "reason": "MinimumReplicasAvailable" if ready >= replicas else "MinimumReplicasUnavailable",
        }
        await self._set_status(
            deployment,
            {
                "observedGeneration": generation,
                "replicas": total,
                "updatedReplicas": status.get("replicas", 0),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": max(0, replicas - ready),
                "conditions": [available, progressing],
            },
        )

    async def _scaled(self, deployment: Json, replica_set: Json, before: int, after: int) -> None:
        """The deployment controller's event for scaling one of its ReplicaSets."""
        direction = "up" if after > before else "down"
        message = f"Scaled {direction} replica set {replica_set['metadata']['name']} to {after} from {before}"
        await events.record(self.store, deployment, "ScalingReplicaSet", message, component="deployment-controller")

    async def _replicas(self, owner: Json, wanted: int) -> None:
        meta, spec = owner["metadata"], owner["spec"]
        namespace = meta["namespace"]
        template = spec.get("template") or {}
        digest = _template_hash(template)
        pods = await self._own_pods(owner)
        for pod in pods[wanted:]:
            await self.store.delete(KIND["Pod"], namespace, pod["metadata"]["name"])
        pods = pods[:wanted]
        for index in range(len(pods), wanted):
            suffix = str(index) if owner["kind"] == "StatefulSet" else uuid.uuid4().hex[:5]
            pods.append(await self._create_pod(owner, template, f"{meta['name']}-{suffix}"))
        ready = sum(1 for pod in pods if is_ready(pod))
        generation = int(meta.get("generation", 1))
        if owner["kind"] == "DaemonSet":
            status: Json = {
                "observedGeneration": generation,
                "desiredNumberScheduled": 1,
                "numberMisscheduled": 0,
                "currentNumberScheduled": len(pods),
                "updatedNumberScheduled": len(pods),
                "numberReady": ready,
                "numberAvailable": ready,
            }
        else:
            status = {
                "observedGeneration": generation,
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
            }
            if owner["kind"] == "StatefulSet":
                revision = f"{meta['name']}-{digest}"
                status.update(
                    currentReplicas=len(pods),
                    updatedReplicas=len(pods),
                    currentRevision=revision,
                    updateRevision=revision,
                )
        await self._set_status(owner, status)

    async def _own_pods(self, owner: Json) -> list[Json]:
        """The pods ``owner`` controls, after it released those whose labels stopped matching its
        selector and adopted the orphans that match it, as Kubernetes' controllers do."""
        selector = owner["spec"].get("selector")
        match = selectors.label_selector(selector) if isinstance(selector, dict) else None
        namespace, uid = owner["metadata"]["namespace"], owner["metadata"]["uid"]
        pods = []
        for pod in self.store.list(KIND["Pod"], namespace):
            labels = pod["metadata"].get("labels") or {}
            references = pod["metadata"].get("ownerReferences") or []
            if _owned_by(pod, owner):
                if match is None or match(labels):
                    pods.append(pod)
                    continue
                pod["metadata"]["ownerReferences"] = [ref for ref in references if ref.get("uid") != uid]
            elif match is not None and match(labels) and not _controlled(pod):
                pod["metadata"]["ownerReferences"] = [*references, _owner(owner)]
                pods.append(pod)
            else:
                continue
            await self.store.replace(KIND["Pod"], namespace, pod["metadata"]["name"], pod)
        return pods

    async def _create_pod(self, owner: Json, template: Json, name: str) -> Json:
        metadata = template.get("metadata") or {}
        return await self.store.create(
            KIND["Pod"],
            owner["metadata"]["namespace"],
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "labels": dict(metadata.get("labels") or {}),
                    "annotations": dict(metadata.get("annotations") or {}),
                    "ownerReferences": [_owner(owner)],
                },
                "spec": dict(template.get("spec") or {}),
            },
        )

    async def _job(self, job: Json) -> None:
        if (job.get("status") or {}).get("conditions"):
            return
        namespace = job["metadata"]["namespace"]
        pods = [pod for pod in self.store.list(KIND["Pod"], namespace) if _owned_by(pod, job)]
        if not pods:
            name = f"{job['metadata']['name']}-{uuid.uuid4().hex[:5]}"
            pods = [await self._create_pod(job, job["spec"].get("template") or {}, name)]
        phases = [(pod.get("status") or {}).get("phase") for pod in pods]
        status: Json = {
            "startTime": (job.get("status") or {}).get("startTime") or now(),
            "active": sum(1 for phase in phases if phase not in ("Succeeded", "Failed")),
        }
        if "Succeeded" in phases:
            status.update(succeeded=1, completionTime=now(), conditions=[{"type": "Complete", "status": "True"}])
        elif "Failed" in phases:
            failed = {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
            }
            status.update(failed=1, conditions=[failed])
        await self._set_status(job, status)

    async def _pod(self, pod: Json) -> None:
        uid = pod["metadata"]["uid"]
        born = self._seen.setdefault(uid, time.monotonic())
        age = time.monotonic() - born
        owners = [ref.get("kind") for ref in pod["metadata"].get("ownerReferences") or []]
        status = dict(pod.get("status") or {})
        if "Job" in owners:
            if status.get("phase") in ("Succeeded", "Failed"):
                return
            if age < self.job_seconds:
                wanted: Json = {"phase": "Running", "startTime": status.get("startTime") or now()}
            elif _marked(pod, FAILS, "fail"):
                wanted = {**status, "phase": "Failed", "reason": "Error"}
            else:
                wanted = {**status, "phase": "Succeeded"}
            await self._set_status(pod, {**status, **wanted})
            return
        ready = age >= self.ready_seconds and not _marked(pod, NEVER_READY, "never-ready")
        if age < self.ready_seconds and status.get("phase", "Pending") == "Pending" and "podIP" not in status:
            wanted = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}
        else:
            containers = (pod.get("spec") or {}).get("containers") or []
            started = status.get("startTime") or now()
            condition: Json = {"type": "Ready", "status": "True" if ready else "False"}
            if not ready:  # as the kubelet words a failing readiness probe
                unready = ", ".join(str(c.get("name")) for c in containers)
                condition.update(reason="ContainersNotReady", message=f"containers with unready status: [{unready}]")
            wanted = {
                "phase": "Running",
                "podIP": _pod_ip(uid),
                "podIPs": [{"ip": _pod_ip(uid)}],
                "startTime": started,
                "conditions": [condition],
                "containerStatuses": [
                    {
                        "name": c.get("name"),
                        "image": c.get("image"),
                        "imageID": f"{c.get('image')}@sha256:{_template_hash(c.get('image'))}",
                        "ready": ready,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": started}},
                    }
                    for c in containers
                ],
            }
        await self._set_status(pod, wanted)
