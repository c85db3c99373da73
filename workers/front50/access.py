"""Who may change what in Front50: Fiat's rules, applied to the authority each command carries.

The gateway checks first; Front50 checks again, so a command put straight onto the bus is judged
the same way (Front50's ``@PreAuthorize`` rules):

* changing an application, its pipelines, strategies or notifications needs WRITE on it; a
  deleted application is judged by its last stored version (re-creating it under its name needs
  what changing it needed);
* creating a brand-new application needs only to be somebody (Fiat's default,
  ``restrictApplicationCreation: false``); an anonymous caller is nobody;
* a pipeline saved over the id of another application's pipeline needs WRITE there too (it would
  move it);
* every trigger's ``runAsUser`` must name a service account the saver may use (an admin any; anyone
  else must hold every role it is a member of) that itself holds EXECUTE on the pipeline's
  application (Front50's ``AuthorizationSupport.hasRunAsUserPermission``);
* projects need somebody; service accounts (identities with roles) only an admin.

A refusal is :func:`~workers.front50.errors.forbidden` (403), naming the user and what it lacks.
"""

from __future__ import annotations

from schemas.authority import Authority, Permission, can
from schemas.json_types import Json
from schemas.permissions import may_run_as, permissions_of, service_account_authority
from workers.front50.documents import key
from workers.front50.errors import forbidden, invalid
from workers.front50.store import Front50Store


class Front50Access:
    """The checks of Front50's commands over its own store."""

    def __init__(self, store: Front50Store, *, execute_fallback: Permission = Permission.READ) -> None:
        self.store = store
        self.execute_fallback = execute_fallback

    async def judging(self, application: str) -> Json | None:
        """The version of ``application`` that judges access: stored, else its last stored version."""
        found = await self.store.find(self.store.applications, {"_id": key(application)})
        if found is not None:
            return found
        versions = await self.store.versions("application", key(application), 1)
        return versions[0] if versions else None

    async def require_write(self, authority: Authority, application: str, *, field: str | None = None) -> None:
        """403 unless ``authority`` may WRITE ``application`` (one never stored guards nothing)."""
        self.require_somebody(authority, f"change application {application!r}", field=field)
        if not can(authority, permissions_of(await self.judging(application)), Permission.WRITE):
            raise forbidden(
                f"access denied: {authority.described()} lacks WRITE permission on application {application!r}", field
            )

    def require_somebody(self, authority: Authority, what: str, *, field: str | None = None) -> None:
        """403 for an anonymous caller who is not an admin."""
        if authority.anonymous and not authority.admin:
            raise forbidden(f"access denied: an anonymous caller may not {what}", field)

    def require_admin(self, authority: Authority, what: str) -> None:
        """403 unless ``authority`` is an admin."""
        if not authority.admin:
            raise forbidden(f"access denied: only an admin may {what}; {authority.described()} is not one")

    async def require_run_as_users(self, authority: Authority, pipeline: Json) -> None:
        """Every trigger's ``runAsUser`` must be a service account ``authority`` may use, with
        EXECUTE on the pipeline's application (the module docstring)."""
        application = str(pipeline.get("application") or "")
        for index, trigger in enumerate(pipeline.get("triggers") or []):
            run_as = trigger.get("runAsUser") if isinstance(trigger, dict) else None
            if run_as is None:
                continue
            field = f"triggers[{index}].runAsUser"
            if not isinstance(run_as, str) or not run_as.strip():
                raise invalid("runAsUser must name a service account", field)
            account = await self.store.find(self.store.service_accounts, {"_id": key(run_as.strip())})
            if account is None:
                raise invalid(f"no service account named {run_as.strip()!r}; an admin creates service accounts", field)
            if not may_run_as(authority, account):
                raise forbidden(
                    f"access denied: {authority.described()} may not run pipelines as service account "
                    f"{run_as.strip()!r}: "
                    "it needs every role the service account is a member of",
                    field,
                )
            permissions = permissions_of(await self.judging(application))
            if not can(
                service_account_authority(account),
                permissions,
                Permission.EXECUTE,
                execute_fallback=self.execute_fallback,
            ):
                raise forbidden(
                    f"access denied: service account {run_as.strip()!r} lacks EXECUTE permission on application "
                    f"{application!r}, so it cannot run this pipeline",
                    field,
                )
