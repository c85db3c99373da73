"""Igor's docker monitor: polls the repositories of each docker registry account and announces
tags that appeared, as Igor's ``DockerMonitor`` does for Spinnaker's docker triggers.

Every ``igor.poll_interval`` seconds, per account and repository, the tags are read
(:mod:`workers.igor.registry`). The first poll of a repository only records what it holds (as
Igor's first poll does not trigger); a tag seen later is claimed in
``igor_docker_announcements`` (its id is account/repository/tag, unique) and published as
``igor.docker.image.pushed`` by the Igor whose claim won, then remembered. A claim left
unpublished (its Igor died) is published by another after ``orphan_ms``. A registry that fails
is logged and asked again next poll; the others go on.

An account with ``trackDigests`` (Spinnaker's, default off) also reads every tag's digest each
poll and announces a tag seen before whose digest changed (pushed again), with the new digest;
the claim's id then holds the digest and the count of the tag's changes, so a tag pushed back to
an image it held before is announced again, and racing Igors, counting alike, claim one id. A
tag whose earlier digest is unknown (the account has just turned tracking on) is only recorded,
as Igor does, so turning it on starts nothing.
"""

from __future__ import annotations

import asyncio
import re

import structlog

from bus import Bus
from schemas.igor import DockerImagePushed, DockerRegistryConfig, IgorSettings
from workers.igor.registry import RegistryClient, RegistryRefused, RegistryUnavailable
from workers.igor.store import IgorStore

log = structlog.get_logger("gennaker.igor.docker")
DIGEST_READS = 8
"""Manifests read at once per repository when tracking digests."""
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""A docker tag, as the distribution specification defines it."""


class DockerMonitor:
    """Polls the registries and announces each new tag once."""

    def __init__(
        self,
        store: IgorStore,
        settings: IgorSettings,
        *,
        owner: str,
        clients: dict[str, RegistryClient] | None = None,
        orphan_ms: int = 30_000,
    ) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner
        self.orphan_ms = orphan_ms
        self.configs = {config.name: config for config in settings.docker_registries}
        self.clients = clients if clients is not None else {n: RegistryClient(c) for n, c in self.configs.items()}

    async def poll(self, account: str, bus: Bus) -> int:
        """Poll every repository of ``account`` once; answers how many tags this Igor announced."""
        config = self.configs[account]
        announced = 0
        for repository in config.repositories:
            announced += await self._poll_repository(config, repository, bus)
        return announced

    async def _poll_repository(self, config: DockerRegistryConfig, repository: str, bus: Bus) -> int:
        client = self.clients[config.name]
        tags = await client.tags(repository)
        seen = await self.store.seen_tags(config.name, repository)
        before = await self.store.seen_digests(config.name, repository) if config.track_digests else {}
        now = await self._digests(client, repository, tags) if config.track_digests else {}
        announced = 0
        if seen is not None:
            for tag in tags:
                digest = now.get(tag)
                if tag not in seen:
                    key = f"{config.name}/{repository}/{tag}"
                elif tag in before and digest is not None and digest != before[tag][0]:
                    key = f"{config.name}/{repository}/{tag}@{digest}#{before[tag][1] + 1}"
                else:
                    continue
                announced += await self._announce(config, repository, tag, digest, key, bus)
        after = dict(before)
        for tag, digest in now.items():
            if digest is not None and before.get(tag, ("", 0))[0] != digest:
                after[tag] = (digest, before[tag][1] + 1 if tag in before else 0)
        if seen is None or not seen.issuperset(tags) or after != before:
            digests = after if config.track_digests else None
            await self.store.remember_tags(config.name, repository, (seen or set()) | set(tags), digests)
        return announced

    async def _digests(self, client: RegistryClient, repository: str, tags: list[str]) -> dict[str, str | None]:
        """Each tag's digest, read a few at a time (``None``: a tag gone since it was listed)."""
        gate = asyncio.Semaphore(DIGEST_READS)

        async def read(tag: str) -> str | None:
            if TAG.fullmatch(tag) is None:
                return None
            async with gate:
                return await client.digest(repository, tag)

        return dict(zip(tags, await asyncio.gather(*(read(tag) for tag in tags)), strict=True))

    async def _announce(
        self, config: DockerRegistryConfig, repository: str, tag: str, digest: str | None, key: str, bus: Bus
    ) -> int:
        """Publish ``tag`` if this Igor wins the claim on ``key``; 1 if it did."""
        event = DockerImagePushed(
            account=config.name, registry=config.registry, repository=repository, tag=tag, digest=digest
        )
        if not await self.store.claim_announcement(key, event.model_dump(mode="json"), self.owner, kind="docker"):
            return 0
        await bus.publish(event, subject=f"{config.name}/{repository}")
        await self.store.announced(key, kind="docker")
        log.info("docker image pushed", account=config.name, repository=repository, tag=tag, digest=digest)
        return 1

    async def _poll_logged(self, account: str, bus: Bus) -> None:
        try:
            await self.poll(account, bus)
        except (RegistryUnavailable, RegistryRefused) as failed:
            log.warning("could not poll docker registry", account=account, reason=str(failed))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("polling failed", account=account)

    async def republish_orphans(self, bus: Bus) -> None:
        for document in await self.store.orphaned_announcements(self.owner, self.orphan_ms, kind="docker"):
            await bus.publish(DockerImagePushed.model_validate(document["event"]))
            await self.store.announced(str(document["_id"]), kind="docker")

    async def loop(self, bus: Bus) -> None:
        """Poll every account every ``poll_interval`` seconds until cancelled; closes the clients then."""
        try:
            if not self.clients:
                await asyncio.Event().wait()  # no registry to watch
            while True:
                await asyncio.gather(*(self._poll_logged(name, bus) for name in list(self.clients)))
                try:
                    await self.republish_orphans(bus)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("republishing docker announcements failed")
                await asyncio.sleep(self.settings.poll_interval)
        finally:
            for client in self.clients.values():
                await client.close()
