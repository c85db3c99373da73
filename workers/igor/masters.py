"""The Jenkins masters of ``[[igor.jenkins]]`` and who may use them.

A master is judged like an account (:func:`schemas.authority.can`): READ to see its jobs and
builds, WRITE to trigger or stop a build; a master without ``permissions`` is open to everyone.
Igor judges the authority every query and task carries, so a caller that got past the gateway
still cannot use a master it holds no role on.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.authority import Authority, Permission, can
from schemas.igor import JenkinsMasterConfig
from workers.igor.jenkins import JenkinsClient


class Refused(Exception):
    """A request Igor will not carry out: HTTP-like ``status``, Igor's message, the field at fault."""

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field


class Masters:
    """Master name → its client, and the permission check."""

    def __init__(self, configs: Iterable[JenkinsMasterConfig], clients: dict[str, JenkinsClient] | None = None) -> None:
        self.configs = {config.name: config for config in configs}
        self.clients = clients if clients is not None else {name: JenkinsClient(c) for name, c in self.configs.items()}

    def names(self, authority: Authority) -> list[str]:
        """The masters ``authority`` may READ, sorted."""
        return sorted(name for name, config in self.configs.items() if self.allowed(config, authority, Permission.READ))

    @staticmethod
    def allowed(config: JenkinsMasterConfig, authority: Authority, permission: Permission) -> bool:
        return can(authority, {str(k): v for k, v in config.permissions.items()}, permission)

    def require(self, name: str, authority: Authority, permission: Permission) -> JenkinsClient:
        """The client of master ``name`` if ``authority`` holds ``permission`` on it, else :class:`Refused`."""
        config = self.configs.get(name)
        if config is None:
            raise Refused(404, f"Master '{name}' not found", "master")
        if not self.allowed(config, authority, permission):
            raise Refused(403, f"Access denied to master '{name}': {permission.value} is required", "master")
        return self.clients[name]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()
