"""Live manifests, for Gate's ``/manifests/{account}/{location}/{name}``: one object read from its cluster.

As Spinnaker's Clouddriver (``ManifestController``), the object is read from the API server, not
the cache, so a user looking at a rollout sees it as it is now; its Events are listed beside it
(:mod:`workers.clouddriver.kubernetes.manifest_view` builds the answer). The caller needs READ on
the account and on the object's application (its moniker's, else its owner's, as for a pod's
console output); an object that names none is shown only to admins. What is not there — the
account, a kind the cluster does not serve, a namespace the account does not cover, the object —
is answered as ``missing``, saying which.
"""

from __future__ import annotations

from bus import MessageContext
from schemas.authority import Permission, can
from schemas.clouddriver_cache import GetManifest, ManifestFound
from schemas.json_types import Json
from workers.clouddriver.access import may_read_application
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.kubernetes import manifest_view
from workers.clouddriver.kubernetes.client import account_settings
from workers.clouddriver.kubernetes.manifests import manifest_name, moniker_of, split_name
from workers.clouddriver.kubernetes.ownership import owning_application
from workers.clouddriver.kubernetes.provider import KubernetesProvider, UnknownKind
from workers.clouddriver.provider import Account, OperationFailed, ProviderRegistry


class ManifestQueries:
    """Answers ``clouddriver.GetManifest``."""

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

    async def manifest(self, query: GetManifest, context: MessageContext) -> ManifestFound:
        """The manifest container of ``query.name`` in namespace ``query.location``, or why not."""
        details = self.catalogue.get(query.account)
        if details is None:
            return ManifestFound(missing=f"there is no account {query.account!r}")
        if not can(query.authority, details.get("permissions"), Permission.READ):
            return ManifestFound(
                refused=f"access denied: {query.authority.described()} lacks READ permission on account "
                f"{query.account!r}"
            )
        account = Account.from_details(details, self.catalogue.settings(query.account))
        provider = self.providers.get(account.cloud_provider)
        if not isinstance(provider, KubernetesProvider):
            kind_of = account.cloud_provider
            return ManifestFound(missing=f"account {query.account!r} is a {kind_of} account, not a kubernetes one")
        try:
            kind, name = split_name(query.name)
        except OperationFailed as error:
            return ManifestFound(missing=str(error))
        settings = account_settings(account)
        if not settings.covers_kind(kind) or not settings.covers_namespace(query.location):
            return ManifestFound(
                missing=f"account {query.account!r} does not cover {kind} in namespace {query.location!r}"
                " (its kinds/namespaces settings)"
            )
        try:
            live = await provider.get(account, kind, query.location, name)
        except UnknownKind as unknown:
            return ManifestFound(missing=str(unknown))
        if live is None:
            return ManifestFound(missing=f"there is no {query.name} in namespace {query.location!r}")
        application = await owning_application(provider, account, query.location, live)
        if application is None and not query.authority.admin:
            return ManifestFound(
                refused=f"access denied: {manifest_name(live)} names no application (moniker.spinnaker.io/application);"
                " only admins may read it"
            )
        if application is not None and not await may_read_application(
            query.authority, application, context, timeout=self.front50_timeout, execute_fallback=self.execute_fallback
        ):
            return ManifestFound(
                application=application,
                refused=f"access denied: {query.authority.described()} lacks READ permission on application "
                f"{application!r}",
            )
        events: list[Json] = []
        if query.include_events and settings.covers_kind("Event"):
            involved = {"involvedObject.kind": str(live.get("kind")), "involvedObject.name": name}
            events = await provider.list_kind(account, "Event", query.location, fields=involved)
        moniker = moniker_of(live)
        if application is not None:
            moniker = {**moniker, "app": application}
        moniker.setdefault("cluster", manifest_name(live))
        found = manifest_view.container(account.name, live, events, moniker)
        return ManifestFound(manifest=found, application=application)
