"""Dinghy's handlers: a push in, its changed dinghyfiles rendered, applied or validated, reported.

For ``dinghy.HandlePush``: find the repository in the settings, check the forge's signature with
its secret, fetch it with git and list what the push changed. Each changed dinghyfile is rendered
at the pushed commit with modules from the template repository's default branch. On the
repository's default branch it is applied (application created from ``spec`` if missing,
pipelines upserted by name keeping their ids, stale ones deleted with ``deleteStalePipelines``,
each locked as managed by Dinghy); on any other branch nothing changes: the render is validated
and the dry run's diff goes back to the forge as a commit status and comment. A push to the
template repository renders again every dinghyfile whose last render used a changed module
(each once; files matching a line of its ``.dinghyignore`` are not modules), with the modules at
the pushed commit: applied for the default branch, validated otherwise. Each dinghyfile's outcome
is one history entry and one ``dinghy.push.processed``.

Writes act as Dinghy's service account (``[dinghy] service_account``, a lock owner) and Front50
checks them like any writer's; the forge's pusher is recorded beside them.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from bus import MessageContext
from schemas.dinghy import DinghyHistory, DinghyRepository, DinghySettings, GetDinghyHistory, HandlePush, PushProcessed
from schemas.pipeline_locks import lock_owner, managed_lock
from workers.dinghy.apply import apply_plan
from workers.dinghy.dinghyfile import DinghyfileError, read_dinghyfile
from workers.dinghy.forges import Push, PushRefused, read_push, repository_of, verify
from workers.dinghy.front50 import ANSWER_TIMEOUT, Answers, Front50, Front50Refused, pipeline_id
from workers.dinghy.git import GitRepository, GitSource
from workers.dinghy.gotemplate.values import go_json_loads
from workers.dinghy.ignore import ignore_patterns, is_ignored
from workers.dinghy.plan import Plan, plan
from workers.dinghy.render import Renderer, RenderError
from workers.dinghy.status import State, StatusReporter
from workers.dinghy.store import DinghyStore

log = structlog.get_logger("gennaker.dinghy")

MAX_DINGHYFILES = 200
MAX_RENDER_KEPT = 256 * 1024


@dataclass(frozen=True)
class Target:
    """One dinghyfile to render: where it is, at which commit, and whether to apply it."""

    repository: DinghyRepository
    git: GitRepository
    commit: str
    branch: str
    path: str
    raw_data: dict[str, Any]
    apply: bool


@dataclass
class DinghyHandlers:
    settings: DinghySettings
    store: DinghyStore
    answers: Answers
    statuses: StatusReporter
    cache: Path
    query_timeout: float = 5.0
    indexed: bool = False
    fetching: dict[str, asyncio.Lock] = field(default_factory=dict)

    def _git(self, repository: DinghyRepository) -> GitRepository:
        return GitRepository(repository.name, repository.url, self.cache, self.settings.git_timeout)

    async def _fetch(self, git: GitRepository) -> None:
        """Fetch the mirror, one fetch per repository at a time in this process (git locks its refs)."""
        lock = self.fetching.setdefault(git.name, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(git.fetch)

    async def get_history(self, query: GetDinghyHistory, context: MessageContext) -> DinghyHistory:
        return DinghyHistory(entries=await self.store.history_of(query.application, query.limit))

    async def handle_push(self, command: HandlePush, context: MessageContext) -> None:
        if not self.indexed:
            await self.store.ensure_indexes()
            self.indexed = True
        try:
            payload = json.loads(command.body)
            name = repository_of(command.forge, payload) if isinstance(payload, dict) else None
            repository = self.settings.repository(name) if name else None
            if repository is None:
                raise PushRefused(f"repository {name!r} is not one of Dinghy's repositories ([[dinghy.repositories]])")
            secret = repository.secret.get_secret_value() if repository.secret else None
            verify(command.forge, command.body, command.headers, secret)
            push = read_push(command.forge, command.body, command.headers)
        except (PushRefused, ValueError) as refused:
            log.warning("push refused", event_id=command.event_id, forge=command.forge, reason=str(refused))
            await self._ignored(context, command, str(refused))
            return
        if push is None or push.deleted:
            return
        git = self._git(repository)
        await self._fetch(git)
        changed = await asyncio.to_thread(git.changed, push.before, push.after)
        deleted = set(await asyncio.to_thread(git.deleted, push.before, push.after))
        author = await asyncio.to_thread(git.author, push.after)
        raw = go_json_loads(command.body)
        on_default = push.branch == repository.default_branch
        targets = [
            Target(repository, git, push.after, push.branch, path, raw, apply=on_default)
            for path in changed
            if posixpath.basename(path) == self.settings.dinghyfile_name and path not in deleted
        ]
        modules: GitSource | None = None
        if self._is_template_repo(repository):
            modules = GitSource(git, push.after, push.branch)
            ignored = ignore_patterns(await asyncio.to_thread(git.read, push.after, ".dinghyignore"))
            changed_modules = [
                path
                for path in changed
                if posixpath.basename(path) != self.settings.dinghyfile_name and not is_ignored(path, ignored)
            ]
            pushed = {f"{t.repository.name}:{t.path}" for t in targets}
            targets += await self._dependents(changed_modules, apply=on_default, exclude=pushed)
        if targets and modules is None:
            modules = await self._modules()
        entries = [await self._process(context, command, push, author, t, modules) for t in targets[:MAX_DINGHYFILES]]
        if self._is_template_repo(repository):
            await self._report_template_push(repository, push, command.event_id, entries)

    async def _report_template_push(
        self, repository: DinghyRepository, push: Push, event_id: str, entries: list[dict[str, Any]]
    ) -> None:
        """One status (and, off the default branch, one comment) on the template commit for all dependents."""
        failed = [entry for entry in entries if entry["outcome"] == "failed"]
        done = "applied" if push.branch == repository.default_branch else "validated"
        state: State = "error" if failed else "success"
        if failed:
            description = f"{len(failed)} of {len(entries)} dependent dinghyfiles failed"
        else:
            description = f"{len(entries)} dependent dinghyfiles {done}"
        key = f"{event_id}:{repository.name}:modules"
        await self.statuses.report(repository, push.after, state, description, key)
        if done == "validated" or failed:
            parts = [
                f"{entry['repository']}/{entry['path']}: {entry['outcome']}\n"
                + str(entry.get("error") or entry.get("diff", ""))
                for entry in entries
            ]
            await self.statuses.comment(repository, push.after, "Dinghy:\n\n" + "\n\n".join(parts), key)

    def _is_template_repo(self, repository: DinghyRepository) -> bool:
        return bool(self.settings.template_repo) and repository.name.lower() == str(self.settings.template_repo).lower()

    async def _dependents(self, modules: list[str], *, apply: bool, exclude: set[str]) -> list[Target]:
        """The dinghyfiles whose last render used any of ``modules``, at their default branch's head."""
        targets: list[Target] = []
        for dependency in await self.store.dependents(modules):
            repository = self.settings.repository(str(dependency["repository"]))
            if repository is None or f"{repository.name}:{dependency['path']}" in exclude:
                continue
            git = self._git(repository)
            await self._fetch(git)
            head = await asyncio.to_thread(git.head, repository.default_branch)
            if head is None:
                continue
            raw = go_json_loads(str(dependency.get("rawData") or "{}"))
            targets.append(
                Target(repository, git, head, repository.default_branch, str(dependency["path"]), raw, apply=apply)
            )
        return targets

    async def _modules(self) -> GitSource | None:
        """The template repository at its default branch's head (``None`` when none is configured)."""
        if not self.settings.template_repo:
            return None
        repository = self.settings.repository(self.settings.template_repo)
        if repository is None:
            return None
        git = self._git(repository)
        await self._fetch(git)
        head = await asyncio.to_thread(git.head, repository.default_branch)
        return GitSource(git, head, repository.default_branch) if head else None

    async def _process(
        self,
        context: MessageContext,
        command: HandlePush,
        push: Push,
        author: str,
        target: Target,
        modules: GitSource | None,
    ) -> dict[str, Any]:
        """Render, plan and (when the target says so) apply one dinghyfile; returns its history entry."""
        key = f"{command.event_id}:{target.repository.name}:{target.path}"
        done = await self.store.entry(key)
        if done is not None:  # this push was processed before (a redelivery): nothing twice
            return done
        authority = lock_owner(self.settings.service_account, tuple(self.settings.service_roles))
        front50 = Front50(context, self.answers, authority, self.query_timeout)
        if target.commit != push.after or target.repository.name != push.repository:
            status_commit = ""  # a dependent re-rendered for a template push: its own commit gets no status
        else:
            status_commit = target.commit
        await self.statuses.report(target.repository, status_commit, "pending", "Dinghy is rendering", key)
        loop = asyncio.get_running_loop()
        ids: dict[str, dict[str, str]] = {}

        def lookup(app: str, name: str) -> str:
            """Dinghy's pipelineID: the pipeline's id; applying, a missing pipeline is created empty first."""
            wait = self.query_timeout + ANSWER_TIMEOUT
            if app not in ids:
                found = asyncio.run_coroutine_threadsafe(front50.pipelines(app), loop).result(wait)
                ids[app] = {str(p.get("name")): str(p.get("id")) for p in found}
            if name not in ids[app] and target.apply:
                new_id = pipeline_id(app, name)
                created = {"application": app, "name": name, "id": new_id, "stages": [], "triggers": []}
                try:
                    asyncio.run_coroutine_threadsafe(front50.save_pipeline(created), loop).result(wait)
                except Front50Refused as refused:
                    raise LookupError(name) from refused
                ids[app][name] = new_id
            if name not in ids[app]:
                raise LookupError(name)
            return ids[app][name]

        renderer = Renderer(modules, pipeline_id=lookup, dinghyfile_name=self.settings.dinghyfile_name)
        source = GitSource(target.git, target.commit, target.branch)
        entry: dict[str, Any] = {
            "_id": key,
            "eventId": command.event_id,
            "repository": target.repository.name,
            "path": target.path,
            "branch": target.branch,
            "commit": target.commit,
            "commitUrl": push.commit_url if status_commit else None,
            "author": author,
            "pusher": push.pusher,
            "templateCommit": modules.commit if modules else None,
            "at": int(time.time() * 1000),
        }
        try:
            rendered = await asyncio.to_thread(renderer.render, source, target.path, target.raw_data)
            entry["rendered"] = rendered.text[:MAX_RENDER_KEPT]
            dinghyfile = read_dinghyfile(rendered.text)
            entry["application"] = dinghyfile.application
            application = await front50.application(dinghyfile.application)
            existing = await front50.pipelines(dinghyfile.application) if application is not None else []
            changes = plan(dinghyfile, existing, application_exists=application is not None)
            if target.apply:
                save_application = dinghyfile.globals.get("save_app_on_update") is True
                managed_by = f"{target.repository.name}/{target.path}"
                locks = {str(p.get("name")): p.get("locked") for p in existing}
                await apply_plan(
                    front50,
                    changes,
                    dinghyfile.spec,
                    managed_lock(f"Managed by Dinghy: {managed_by}", allow_unlock_ui=self.settings.allow_unlock_ui)
                    if self.settings.lock_pipelines
                    else None,
                    save_application=save_application,
                    locks=locks,
                )
                await self.store.record_dependencies(
                    target.repository.name,
                    target.path,
                    target.branch,
                    rendered.modules,
                    json.dumps(target.raw_data),
                )
        except (RenderError, DinghyfileError, Front50Refused) as error:
            entry.update(outcome="failed", error=str(error))
            if "application" not in entry:  # unrendered: its error is shown where its last render was
                entry["application"] = await self.store.last_application(target.repository.name, target.path)
            await self._finish(context, target, entry, status_commit, "", None)
            return entry
        entry.update(
            outcome="applied" if target.apply else "validated", changes=changes.summary(), diff=changes.describe()
        )
        await self._finish(context, target, entry, status_commit, changes.describe(), changes)
        return entry

    async def _finish(
        self,
        context: MessageContext,
        target: Target,
        entry: dict[str, Any],
        commit: str,
        diff: str,
        changes: Plan | None,
    ) -> None:
        await self.store.record(entry)
        outcome = entry["outcome"]
        await context.publish(
            PushProcessed(
                event_id=entry["eventId"],
                repository=target.repository.name,
                branch=target.branch,
                commit=target.commit,
                author=entry["author"],
                path=target.path,
                application=entry.get("application"),
                outcome=outcome,
                error=entry.get("error"),
                changes=changes.summary() if changes else {},
                diff=diff,
            ),
            subject=entry["application"] if entry.get("application") else None,
        )
        key = entry["_id"]
        if outcome == "failed":
            message = str(entry["error"])
            await self.statuses.report(target.repository, commit, "error", message, key)
            await self.statuses.comment(target.repository, commit, f"Dinghy: {target.path} failed\n\n{message}", key)
            return
        done = "applied" if outcome == "applied" else "validated; nothing was changed"
        await self.statuses.report(target.repository, commit, "success", f"Dinghyfile {done}", key)
        if outcome == "validated":
            body = f"Dinghy: {target.path} would change on {target.repository.default_branch}:\n\n```diff\n{diff}```"
            await self.statuses.comment(target.repository, commit, body, key)

    async def _ignored(self, context: MessageContext, command: HandlePush, reason: str) -> None:
        await context.publish(
            PushProcessed(
                event_id=command.event_id,
                repository="",
                branch="",
                commit="",
                author="",
                path="",
                outcome="ignored",
                error=reason,
            )
        )
