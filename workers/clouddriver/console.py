"""Console output: what an instance printed, for Gate's ``/instances/{account}/{region}/{id}/console``.

On a ``kubernetes`` account an instance is a pod and its console output is each container's log
(init containers first), at most :data:`MAX_BYTES` each: how a user reads what a ``runJobManifest``
Job printed, as in Spinnaker. Logs are read live from the cluster, never cached or put in events.
The caller needs READ on the account and on the pod's application (its
``moniker.spinnaker.io/application``, else its owner's: the Job or ReplicaSet that made it); other
providers print nothing here.
"""

from __future__ import annotations

from bus import MessageContext
from schemas.authority import Permission, can
from schemas.clouddriver_cache import CachedResources, GetConsoleOutput
from schemas.json_types import Json
from workers.clouddriver.access import may_read_application
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.kubernetes.ownership import owning_application
from workers.clouddriver.kubernetes.provider import ApiRefused, KubernetesProvider
from workers.clouddriver.provider import Account, ProviderRegistry

MAX_BYTES = 256 * 1024


class ConsoleQueries:
    """Answers ``clouddriver.GetConsoleOutput``."""

    def __init__(
        self,
        catalogue: AccountCatalogue,
        providers: ProviderRegistry,
        *,
        execute_fallback: Permission = Permission.READ,
        front50_timeout: float = 5.0,
    ) -> None:
        self.catalogue = catalogue
        self.providers = providers
        self.execute_fallback = execute_fallback
        self.front50_timeout = front50_timeout

    async def console_output(self, query: GetConsoleOutput, context: MessageContext) -> CachedResources:
        """Each container's log of pod ``instance_id`` in namespace ``region``."""
        details = self.catalogue.get(query.account)
        if details is None or not can(query.authority, details.get("permissions"), Permission.READ):
            return CachedResources(resources=[])
        account = Account.from_details(details, self.catalogue.settings(query.account))
        provider = self.providers.get(account.cloud_provider)
        if not isinstance(provider, KubernetesProvider):
            return CachedResources(resources=[])
        pod = await provider.get(account, "Pod", query.region, query.instance_id)
        if pod is None:
            return CachedResources(resources=[])
        application = await owning_application(provider, account, query.region, pod)
        if not await may_read_application(
            query.authority, application, context, timeout=self.front50_timeout, execute_fallback=self.execute_fallback
        ):
            return CachedResources(resources=[])
        spec = pod.get("spec") or {}
        output: list[Json] = []
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            name = str(container.get("name") or "")
            try:
                text = await provider.pod_log(account, query.region, query.instance_id, name, limit=MAX_BYTES)
            except ApiRefused as refused:
                text = f"(no log: {refused})"
            output.append({"name": name, "output": text})
        return CachedResources(resources=output)
