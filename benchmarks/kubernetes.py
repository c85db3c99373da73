"""Kubernetes: ``deployManifest`` to stable through Clouddriver, beside the same requests made directly.

Set-up: ``MemoryBus``, the embedded store (mongoeco's wire server over SQLite in a temp dir),
Clouddriver with a ``kubernetes`` account pointing at the local API server of
``tests/kubernetes_server`` (pods Ready 0.2 s after they are created).

* **Through Clouddriver.** ``--runs`` times, a ``deployManifest`` of a 2-replica Deployment with a
  new image each time is sent as Orca sends it (``orca.RunExternalTask``, as an admin); timed
  until its ``clouddriver.task.completed`` arrives (Clouddriver journals the operation, dry-runs
  and applies the manifest, waits until the rollout is stable polling every 0.5 s, refreshes the
  account's cache, and answers).
* **Baseline.** The same requests made directly with lightkube's client: a server-side dry run, a
  server-side apply, then ``get`` every 0.5 s until the Deployment is stable by the same rule.

* **The cache with many resources** (``--cache-resources 5000``, 0 to skip): the local API server,
  in a process of its own as a real one is (its objects are not Clouddriver's to allocate, hold or
  collect), holds ReplicaSets of application ``bench`` (moniker annotations, 100 clusters) and their pods,
  three each, as many as asked in all, with one Deployment per cluster owning its ReplicaSets;
  the baseline is what the same objects take as lightkube's client lists them, held in a list
  (``client_objects_mib``, traced). Then Clouddriver starts with the account's cache empty and
  Python's allocations traced from before its start-up refresh (the first) until its cache holds
  the account (``cache_loaded_ms``; ``cache_loaded_mib``: allocated then and still held after a full
  collection, i.e. the loaded cache with what the start-up of Clouddriver, Front50, Gate's app and
  the embedded store left; ``cache_loaded_peak_mib``: the most allocated at once;
  ``cache_loaded_rss_growth_mib``: the process's RSS growth meanwhile). ``cache_view_mib`` is the
  size of the in-memory view alone (every object reachable from it, once), after loading and again
  after the reads (``cache_view_after_reads_mib``: with the joined listings it keeps). Then a
  second refresh of the unchanged account is timed (``cache_refresh_ms``), traced
  (``cache_refresh_peak_mib``: the most allocated at once; ``cache_retained_mib``: what that
  refresh added and still holds, not the cache's size) with the process's RSS growth; then
  Gate's ``/applications/bench/serverGroups`` (every server group with its instances: Gate's
  default summaries, and ``?expand=true``, the whole JSON) and one server group are read
  ``--reads`` times (p50/p99; after one uncounted read of each listing), each timed until Gate's
  answer has arrived in full (decoding it is the client's work, left out); so are
  ``/applications/bench/serverGroupManagers`` (one Deployment per cluster owns its ReplicaSets:
  100 managers, each with its server groups' summaries) and one live manifest,
  ``/manifests/k8s/default/deployment web7`` (read from the API server with its Events, not from
  the cache). The goal in issue 14: at most
  100 MiB (``cache_loaded_mib``) and a Gate read p99 of at most 50 ms.

    .venv/bin/python benchmarks/kubernetes.py [--runs 20] [--cache-resources 5000] [--reads 100]

The last line printed is one JSON object with every figure (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pydantic_core  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from lightkube import AsyncClient  # noqa: E402
from lightkube.codecs import from_dict  # noqa: E402
from lightkube.config.kubeconfig import KubeConfig  # noqa: E402
from lightkube.resources.apps_v1 import Deployment, ReplicaSet  # noqa: E402
from lightkube.resources.core_v1 import Pod  # noqa: E402

from benchmarks.clouddriver_rig import Rig, embedded_clouddriver  # noqa: E402
from bus.service import ServiceHost  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.config import GatewayConfig  # noqa: E402
from gennaker.logging import configure_logging  # noqa: E402
from schemas.clouddriver_cache import RefreshCache  # noqa: E402
from tests.kubernetes_server import KubernetesApiServer  # noqa: E402
from tests.kubernetes_server.controller import KIND  # noqa: E402
from workers.clouddriver.cache_view import CacheView  # noqa: E402
from workers.clouddriver.kubernetes.stability import judge  # noqa: E402
from workers.front50 import worker as front50  # noqa: E402

Json = dict[str, Any]
POLL_SECONDS = 0.5


def manifest(name: str, image: str) -> Json:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}},
        },
    }


async def deploy(rig: Rig, image: str) -> float:
    """Seconds from sending a ``deployManifest`` of ``image`` to its answer."""
    context = {"account": "k8s", "manifests": [manifest("through", image)], "moniker": {"app": "bench"}}
    started = time.perf_counter()
    arrived, _ = await rig.answers.run(rig.bus, "deployManifest", context, application="bench")
    return arrived - started


async def direct(client: AsyncClient, image: str) -> float:
    """The same requests with the client alone: dry run, apply, poll until stable."""
    obj = from_dict(manifest("direct", image))
    started = time.perf_counter()
    await client.apply(obj, field_manager="bench", force=True, dry_run=True)
    await client.apply(obj, field_manager="bench", force=True)
    while True:
        if judge((await client.get(Deployment, "direct", namespace="default")).to_dict()).stable:
            break
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def figures(label: str, seconds: list[float]) -> Json:
    ordered = sorted(seconds)
    return {
        f"{label}_p50_ms": round(statistics.median(ordered) * 1000),
        f"{label}_max_ms": round(ordered[-1] * 1000),
    }


PODS_PER_SET = 3
CLUSTERS = 100


def deployment(cluster: int) -> Json:
    """The Deployment of cluster ``cluster``: the server group manager of its ReplicaSets."""
    labels = {"app": f"web{cluster}"}
    notes = {"moniker.spinnaker.io/application": "bench", "moniker.spinnaker.io/cluster": f"deployment web{cluster}"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "main", "image": "registry.example/web"}]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"web{cluster}", "namespace": "default", "annotations": notes},
        "spec": {"replicas": PODS_PER_SET, "selector": {"matchLabels": labels}, "template": template},
    }


def replica_set(number: int) -> Json:
    cluster = f"replicaSet web{number % CLUSTERS}"
    name = f"web{number % CLUSTERS}-v{number // CLUSTERS:03d}"
    labels = {"app": f"web{number % CLUSTERS}", "version": name}
    notes = {
        "moniker.spinnaker.io/application": "bench",
        "moniker.spinnaker.io/cluster": cluster,
        "moniker.spinnaker.io/sequence": str(number // CLUSTERS),
        "artifact.spinnaker.io/name": name,
        "artifact.spinnaker.io/type": "kubernetes/replicaSet",
    }
    template = {
        "metadata": {"labels": labels, "annotations": notes},
        "spec": {"containers": [{"name": "main", "image": f"registry.example/web:{number}"}]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default", "annotations": notes, "labels": labels},
        "spec": {"replicas": PODS_PER_SET, "selector": {"matchLabels": labels}, "template": template},
    }


async def seed(server: KubernetesApiServer, document: Json, manager: Json) -> None:
    """``document`` (a ReplicaSet of Deployment ``manager``) with its pods, all Running and Ready, as the
    controllers would leave them."""
    controller = {"apiVersion": "apps/v1", "kind": "Deployment", "name": manager["metadata"]["name"]}
    controller |= {"uid": manager["metadata"]["uid"], "controller": True}
    document = {**document, "metadata": {**document["metadata"], "ownerReferences": [controller]}}
    created = await server.store.create(KIND["ReplicaSet"], "default", document)
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": created["metadata"]["name"]}
    owner |= {"uid": created["metadata"]["uid"], "controller": True}
    template = document["spec"]["template"]
    for n in range(PODS_PER_SET):
        metadata = {**template["metadata"], "name": f"{created['metadata']['name']}-{n}", "ownerReferences": [owner]}
        pod = await server.store.create(
            KIND["Pod"], "default", {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}
        )
        ready = {"type": "Ready", "status": "True"}
        pod["status"] = {"phase": "Running", "podIP": f"10.1.{n}.1", "conditions": [ready]}
        await server.store.replace(KIND["Pod"], "default", pod["metadata"]["name"], pod, status_only=True)
    replicas = {"replicas": PODS_PER_SET, "readyReplicas": PODS_PER_SET, "availableReplicas": PODS_PER_SET}
    created["status"] = {**replicas, "observedGeneration": 1}
    await server.store.replace(KIND["ReplicaSet"], "default", created["metadata"]["name"], created, status_only=True)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def held_mib(root: object) -> float:
    """What ``root`` holds, in MiB: the sizes of every object reachable from it, each counted once
    (classes, modules and functions, which the cache shares with the rest of the process, left out)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total / 2**20


def cache_view() -> CacheView:
    """The in-memory view of the one Clouddriver this process runs."""
    views = [obj for obj in gc.get_objects() if isinstance(obj, CacheView) and obj.entries]
    assert len(views) == 1, f"expected one loaded cache view, found {len(views)}"
    return views[0]


async def client_objects(kubeconfig: Path) -> float:
    """The baseline: MiB that the account's objects take as lightkube's client returns them, held in
    a list (traced from before the lists to after them)."""
    client = AsyncClient(config=KubeConfig.from_file(kubeconfig))
    try:
        gc.collect()
        tracemalloc.start()
        held = [obj for kind in (Deployment, ReplicaSet, Pod) async for obj in client.list(kind, namespace="*")]
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await client.close()
    assert held
    return current / 2**20


def percentiles(samples: list[float]) -> Json:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


def managed(sets: int) -> int:
    """How many Deployments manage ``sets`` ReplicaSets (one per cluster)."""
    return min(CLUSTERS, sets)


async def serve_seeded(sets: int, kubeconfig: Path) -> None:
    """``--serve-seeded``: the local API server holding ``sets`` ReplicaSets with their pods, its
    kubeconfig written to ``kubeconfig``; says ``ready`` and serves until its stdin closes."""
    async with KubernetesApiServer(controllers=False) as server:  # seeded ready-made: no controller passes over 5k
        managers = [
            await server.store.create(KIND["Deployment"], "default", deployment(c)) for c in range(managed(sets))
        ]
        for number in range(sets):
            await seed(server, replica_set(number), managers[number % CLUSTERS])
        server.kubeconfig(kubeconfig)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def cache_figures(data: Path, resources: int, reads: int) -> Json:
    """Seed ``resources`` objects, refresh the cache, read it through Gate (see the module)."""
    sets = max(1, resources // (PODS_PER_SET + 1))
    kubeconfig = data / "kubeconfig-cache"
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-seeded",
        str(sets),
        str(kubeconfig),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        assert await server.stdout.readline() == b"ready\n", "the API server did not start"
        account = {"name": "k8s", "cloudProvider": "kubernetes", "kubernetes": {"kubeconfigFile": str(kubeconfig)}}
        baseline = await client_objects(kubeconfig)
        gc.collect()
        cold_rss = rss_mib()
        tracemalloc.start()  # before Clouddriver starts: its start-up refresh is the first
        started = time.perf_counter()
        async with embedded_clouddriver(data / "cache", [account]) as rig:
            front50_host = ServiceHost(rig.bus, front50.build_service(rig.resources))
            await front50_host.start()
            app = create_app(rig.bus, GatewayConfig(version="bench", services=("front50", "clouddriver")))
            client: TestClient[Any, Any] = TestClient(TestServer(app))
            await client.start_server()
            try:
                # waits for the start-up refresh (one lock per account), then compares the account again
                await rig.bus.ask(RefreshCache(account="k8s"), timeout=600)
                first_refresh = time.perf_counter() - started
                gc.collect()
                loaded, first_peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                loaded_rss = rss_mib() - cold_rss
                view_loaded = held_mib(cache_view())
                before = rss_mib()
                tracemalloc.start()
                started = time.perf_counter()
                await rig.bus.ask(RefreshCache(account="k8s"), timeout=600)
                refresh = time.perf_counter() - started
                current, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                grown = rss_mib() - before
                for warm in ("", "?expand=true"):  # uncounted: Front50 creates its indexes at its first query
                    await (await client.get(f"/applications/bench/serverGroups{warm}")).read()
                await (await client.get("/applications/bench/serverGroupManagers")).read()
                listing: list[float] = []
                expanded: list[float] = []
                one: list[float] = []
                managers: list[float] = []
                manifest: list[float] = []
                for _ in range(reads):
                    for path, samples in (("", listing), ("?expand=true", expanded)):
                        started = time.perf_counter()
                        response = await client.get(f"/applications/bench/serverGroups{path}")
                        body = await response.read()
                        samples.append(time.perf_counter() - started)  # Gate's answer in full; decoding is the client's
                        groups = pydantic_core.from_json(body)
                        assert response.status == 200 and len(groups) == sets, (response.status, len(groups))
                    started = time.perf_counter()
                    response = await client.get("/applications/bench/serverGroups/k8s/default/replicaSet%20web7-v000")
                    await response.read()
                    one.append(time.perf_counter() - started)
                    assert response.status == 200, response.status
                    started = time.perf_counter()
                    response = await client.get("/applications/bench/serverGroupManagers")
                    body = await response.read()
                    managers.append(time.perf_counter() - started)
                    found = pydantic_core.from_json(body)
                    assert response.status == 200 and len(found) == managed(sets), (response.status, len(found))
                    assert sum(len(manager["serverGroups"]) for manager in found) == sets
                    started = time.perf_counter()
                    response = await client.get("/manifests/k8s/default/deployment%20web7")
                    await response.read()
                    manifest.append(time.perf_counter() - started)
                    assert response.status == 200, response.status
                view_read = held_mib(cache_view())
            finally:
                await client.close()
                await front50_host.stop()
    finally:
        server.stdin.close()
        await server.wait()
    return {
        "cache_resources": sets * (PODS_PER_SET + 1) + managed(sets),
        "cache_server_groups": sets,
        "cache_server_group_managers": managed(sets),
        "cache_loaded_ms": round(first_refresh * 1000),
        "cache_loaded_peak_mib": round(first_peak / 2**20, 1),
        "cache_loaded_mib": round(loaded / 2**20, 1),
        "cache_loaded_rss_growth_mib": round(loaded_rss, 1),
        "cache_view_mib": round(view_loaded, 1),
        "cache_view_after_reads_mib": round(view_read, 1),
        "client_objects_mib": round(baseline, 1),
        "cache_refresh_ms": round(refresh * 1000),
        "cache_refresh_peak_mib": round(peak / 2**20, 1),
        "cache_retained_mib": round(current / 2**20, 1),
        "cache_refresh_rss_growth_mib": round(grown, 1),
        "gate_server_groups_ms": percentiles(listing),
        "gate_server_groups_expanded_ms": percentiles(expanded),
        "gate_one_server_group_ms": percentiles(one),
        "gate_server_group_managers_ms": percentiles(managers),
        "gate_live_manifest_ms": percentiles(manifest),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cache-resources", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--serve-seeded", nargs=2, metavar=("SETS", "KUBECONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_seeded:
        await serve_seeded(int(args.serve_seeded[0]), Path(args.serve_seeded[1]))
        return
    configure_logging("WARNING", stream=sys.stderr)
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory)
        async with KubernetesApiServer(ready_seconds=0.2) as server:
            kubeconfig = server.kubeconfig(data / "kubeconfig")
            account = {"name": "k8s", "cloudProvider": "kubernetes", "kubernetes": {"kubeconfigFile": str(kubeconfig)}}
            async with embedded_clouddriver(data, [account]) as rig:
                client = AsyncClient(config=KubeConfig.from_file(kubeconfig))
                through: list[float] = []
                alone: list[float] = []
                try:
                    for run in range(args.runs):
                        through.append(await deploy(rig, f"app:{run}"))
                        alone.append(await direct(client, f"app:{run}"))
                finally:
                    await client.close()
        cache = await cache_figures(data, args.cache_resources, args.reads) if args.cache_resources else {}
    print(
        json.dumps(
            {"runs": args.runs, **figures("deploy_manifest", through), **figures("direct_client", alone), **cache}
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
