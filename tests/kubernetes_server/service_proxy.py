"""The API server's service proxy: ``/api/v1/namespaces/{ns}/services/{service}/proxy/{path}``.

Requests reach a Service's pods the way the real proxy sends them: ``service`` is ``name``,
``name:port`` or ``scheme:name:port`` (anything else is ``400 invalid service request``), a port
number standing for the Service's port of that number (none: ``503 no service port N found for
service "name"``) and otherwise a port's name (empty for an unnamed one). The Service's Endpoints
decide who answers (none: ``404 endpoints "name" not found``; no subsets: ``503 no endpoints
available for service "name"``): an address of a subset with that port whose pod still exists with
that IP, or ``503 no endpoints available for service "{service}"`` when there is none. The real proxy
picks among them at random; this one takes them in turn (round-robin per Service), so a test sees
every pod answer.

No process runs in these pods, so the chosen pod answers for its app: ``200`` with JSON naming the
pod, its namespace, IP and port, its first container's image and all its images, and the
request's method and path. Tests tell which version served a request from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web

from schemas.json_types import Json
from tests.kubernetes_server.endpoints import ENDPOINTS, POD, SERVICE
from tests.kubernetes_server.errors import ApiFailure
from tests.kubernetes_server.store import ObjectStore

SCHEMES = ("", "http", "https")


def unavailable(message: str) -> ApiFailure:
    """``503 ServiceUnavailable``, as the real proxy refuses a request it has nowhere to send."""
    return ApiFailure(503, "ServiceUnavailable", message)


def _split(service: str) -> tuple[str, str]:
    """``(name, port)`` of ``name``, ``name:port`` or ``scheme:name:port``."""
    parts = service.split(":")
    scheme, name, port = {1: ("", parts[0], ""), 2: ("", *parts), 3: tuple(parts)}.get(len(parts), ("", "", ""))
    if not name or scheme not in SCHEMES:
        raise ApiFailure(400, "BadRequest", f'invalid service request "{service}"')
    return name, port


@dataclass
class ServiceProxy:
    """The proxy over one :class:`ObjectStore`; ``turns`` holds each Service's next turn."""

    store: ObjectStore
    turns: dict[tuple[str, str], int] = field(default_factory=dict)

    def _port_name(self, namespace: str, name: str, port: str) -> str:
        if not port.isdigit():
            return port
        service = self.store.get(SERVICE, namespace, name)
        for declared in (service.get("spec") or {}).get("ports") or []:
            if declared.get("port") == int(port):
                return str(declared.get("name") or "")
        raise unavailable(f'no service port {port} found for service "{name}"')

    def _valid(self, namespace: str, address: Json) -> Json | None:
        """The pod behind ``address`` when it still exists with that IP."""
        reference = address.get("targetRef") or {}
        if reference.get("kind") != "Pod" or reference.get("namespace") != namespace:
            return None
        pod = self.store.find(POD, namespace, str(reference.get("name")))
        status = (pod or {}).get("status") or {}
        ips = {status.get("podIP"), *(item.get("ip") for item in status.get("podIPs") or [])}
        return pod if pod is not None and address.get("ip") in ips else None

    def choose(self, namespace: str, service: str) -> tuple[Json, int]:
        """The pod that answers a request to ``service`` and the port it answers on; or the refusal."""
        name, port = _split(service)
        port_name = self._port_name(namespace, name, port)
        endpoints = self.store.get(ENDPOINTS, namespace, name)
        subsets = endpoints.get("subsets") or []
        if not subsets:
            raise unavailable(f'no endpoints available for service "{name}"')
        turn = self.turns.get((namespace, name), 0)
        self.turns[(namespace, name)] = turn + 1
        for subset in subsets:
            addresses = subset.get("addresses") or []
            number = next((p["port"] for p in subset.get("ports") or [] if p.get("name", "") == port_name), None)
            if number is None:
                continue
            for attempt in range(len(addresses)):
                pod = self._valid(namespace, addresses[(turn + attempt) % len(addresses)])
                if pod is not None:
                    return pod, int(number)
        raise unavailable(f'no endpoints available for service "{service}"')

    async def answer(self, request: web.Request, namespace: str, service: str, path: str) -> web.Response:
        """The chosen pod's answer to ``request`` (its JSON description of itself)."""
        pod, port = self.choose(namespace, service)
        containers = (pod.get("spec") or {}).get("containers") or []
        images = [str(container.get("image") or "") for container in containers]
        body = {
            "pod": pod["metadata"]["name"],
            "namespace": namespace,
            "ip": pod["status"]["podIP"],
            "port": port,
            "image": images[0] if images else "",
            "images": images,
            "method": request.method,
            "path": f"/{path}",
        }
        return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
