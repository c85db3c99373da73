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

    .venv/bin/python benchmarks/kubernetes.py [--runs 20]

The last line printed is one JSON object with every figure (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lightkube import AsyncClient  # noqa: E402
from lightkube.codecs import from_dict  # noqa: E402
from lightkube.config.kubeconfig import KubeConfig  # noqa: E402
from lightkube.resources.apps_v1 import Deployment  # noqa: E402

from benchmarks.clouddriver_rig import Rig, embedded_clouddriver  # noqa: E402
from gennaker.logging import configure_logging  # noqa: E402
from tests.kubernetes_server import KubernetesApiServer  # noqa: E402
from workers.clouddriver.kubernetes.stability import judge  # noqa: E402

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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
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
    print(json.dumps({"runs": args.runs, **figures("deploy_manifest", through), **figures("direct_client", alone)}))


if __name__ == "__main__":
    asyncio.run(main())
