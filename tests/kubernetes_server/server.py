"""Starting and stopping the local API server, and a kubeconfig that points a client at it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType

from aiohttp import web

from schemas.json_types import Json
from tests.kubernetes_server.app import KubernetesApi
from tests.kubernetes_server.controller import Controllers
from tests.kubernetes_server.kinds import KINDS
from tests.kubernetes_server.store import ObjectStore

TOKEN = "local-api-server-token"
KUBECONFIG = """apiVersion: v1
kind: Config
current-context: {context}
clusters:
- name: local
  cluster: {{server: "{url}"}}
users:
- name: deployer
  user: {{token: "{token}"}}
contexts:
- name: {context}
  context: {{cluster: local, user: deployer, namespace: {namespace}}}
"""


class KubernetesApiServer:
    """``async with KubernetesApiServer() as server:`` an API server on ``server.url`` with namespaces
    ``default`` and any in ``namespaces``, its controllers running (unless ``controllers`` is false:
    objects then change only when asked); on ``port`` when given (else any)."""

    def __init__(
        self,
        *,
        namespaces: tuple[str, ...] = (),
        ready_seconds: float = 0.3,
        job_seconds: float = 0.3,
        port: int = 0,
        controllers: bool = True,
    ) -> None:
        self.store = ObjectStore()
        self.api = KubernetesApi(self.store, token=TOKEN)
        self.controllers = Controllers(self.store, ready_seconds=ready_seconds, job_seconds=job_seconds)
        self.namespaces = ("default", *namespaces)
        self.port = port
        self.run_controllers = controllers
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> KubernetesApiServer:
        namespace_kind = next(kind for kind in KINDS if kind.kind == "Namespace")
        for name in self.namespaces:
            document = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            await self.store.create(namespace_kind, "", document)
        await self.serve()
        if self.run_controllers:
            self._loop = asyncio.create_task(self.controllers.run())
        return self

    async def serve(self) -> None:
        """Answer HTTP on the port (the same one again after :meth:`go_away`)."""
        self._runner = web.AppRunner(self.api.app(), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def go_away(self) -> None:
        """Stop answering HTTP (connections refused, open ones closed) while the objects and the
        controllers carry on, as when a cluster's API server restarts; :meth:`serve` brings it back."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._runner is not None:
            await self._runner.cleanup()

    def kubeconfig(
        self, path: Path, *, context: str = "local", namespace: str = "default", only: tuple[str, ...] | None = None
    ) -> Path:
        """Write a kubeconfig for this server at ``path`` (context ``context``) and return it. With
        ``only``, its token is one allowed in those namespaces alone (namespace-scoped RBAC): anything
        cluster-wide or elsewhere is ``403 Forbidden``."""
        token = TOKEN
        if only is not None:
            token = f"{TOKEN}-only-{'-'.join(only)}"
            self.api.restricted[token] = only
        path.write_text(KUBECONFIG.format(url=self.url, token=token, context=context, namespace=namespace))
        return path

    def account(self, path: Path, *, namespace: str = "default") -> Json:
        """The Gennaker account ``k8s`` reaching this server through a kubeconfig written at ``path``:
        READ for ``shop-owners``, WRITE for ``prod-deployers``, as the tests' ``shop`` application expects."""
        return {
            "name": "k8s",
            "cloudProvider": "kubernetes",
            "permissions": {"READ": ["shop-owners"], "WRITE": ["prod-deployers"]},
            "kubernetes": {"kubeconfigFile": str(self.kubeconfig(path, namespace=namespace)), "context": "local"},
        }
