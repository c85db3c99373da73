"""Kinds a cluster's CustomResourceDefinitions define, learnt when a stage first names one.

Spinnaker deploys custom resources like any manifest. The provider knows the built-in kinds by
name (:mod:`.kinds`); for any other it reads the cluster's ``CustomResourceDefinition`` objects
(once per account, and again when a kind is still unknown), registers each defined kind with
lightkube as a generic resource, and remembers each kind's ``apiVersion`` (its storage version, else
its first served one) so ``"widget shop-widget"`` finds it.
"""

from __future__ import annotations

from typing import Any

from lightkube import AsyncClient
from lightkube.generic_resource import create_resources_from_crd
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition


class CustomKinds:
    """Per account: lower-case kind → (``apiVersion``, ``kind`` as the CRD spells it)."""

    def __init__(self) -> None:
        self._known: dict[str, dict[str, tuple[str, str]]] = {}

    def lookup(self, account: str, kind: str) -> tuple[str, str] | None:
        """What ``kind`` is in ``account``'s cluster, as last learnt."""
        return self._known.get(account, {}).get(kind.lower())

    async def learn(self, account: str, client: AsyncClient) -> None:
        """Read ``account``'s CustomResourceDefinitions and register their kinds."""
        learnt: dict[str, tuple[str, str]] = {}
        async for definition in client.list(CustomResourceDefinition):
            spec: Any = definition.spec
            create_resources_from_crd(definition)
            served = [version for version in spec.versions if version.served]
            chosen = next((version for version in served if version.storage), served[0] if served else None)
            if chosen is not None:
                learnt[spec.names.kind.lower()] = (f"{spec.group}/{chosen.name}", spec.names.kind)
        self._known[account] = learnt
