"""Igor's build monitor: polls each master's jobs and announces builds that finished.

Every ``igor.poll_interval`` seconds, per master, one request reads ``item_depth`` folder levels
of jobs with each job's ``lastCompletedBuild`` (Jenkins' ``tree`` parameter), and one more per
folder found at the deepest level read — so 200 jobs in one folder cost one request, not 200.
A job seen for the first time only records its newest completed build (as Igor's first poll does
not trigger); a newer one later is claimed in ``igor_build_announcements`` (its id is
master/job/number, unique) and published as ``igor.build.completed`` by the Igor whose claim
won. A claim left unpublished (its Igor died) is published by another after ``orphan_ms``.
"""

from __future__ import annotations

import asyncio

import structlog

from bus import Bus
from schemas.igor import BuildCompleted, IgorSettings
from schemas.json_types import Json
from workers.igor.jenkins import JenkinsRefused, MasterUnavailable, generic_build, igor_job_name
from workers.igor.masters import Masters
from workers.igor.store import IgorStore

log = structlog.get_logger("gennaker.igor.poller")

BUILD_FIELDS = (
    "number,result,building,timestamp,duration,url,fullDisplayName,artifacts[fileName,displayPath,relativePath]"
)
FIELDS = f"name,url,lastCompletedBuild[{BUILD_FIELDS}]"
FOLDER = "Folder"


def _is_folder(node: Json) -> bool:
    return "jobs" in node or str(node.get("_class", "")).endswith(FOLDER)


class BuildMonitor:
    """Polls the masters and announces their new completed builds once."""

    def __init__(
        self, store: IgorStore, masters: Masters, settings: IgorSettings, *, owner: str, orphan_ms: int = 30_000
    ) -> None:
        self.store = store
        self.masters = masters
        self.settings = settings
        self.owner = owner
        self.orphan_ms = orphan_ms

    def _walk(
        self,
        node: Json,
        prefix: list[str],
        level: int,
        depth: int,
        found: dict[str, Json],
        pending: list[tuple[list[str], Json]],
    ) -> None:
        for child in node.get("jobs") or []:
            if not isinstance(child, dict):
                continue
            path = [*prefix, str(child.get("name"))]
            if _is_folder(child):
                if "jobs" in child:
                    self._walk(child, path, level + 1, depth, found, pending)
                else:
                    pending.append((path, {"__fetch__": True}))
                continue
            last = child.get("lastCompletedBuild")
            found[igor_job_name(path)] = last if isinstance(last, dict) else {}

    async def poll(self, name: str, bus: Bus) -> int:
        """Poll master ``name`` once; answers how many builds this Igor announced."""
        client = self.masters.clients[name]
        found: dict[str, Json] = {}
        depth = client.config.item_depth
        pending: list[tuple[list[str], Json]] = [([], await client.jobs_tree(FIELDS, depth))]
        while pending:
            prefix, node = pending.pop()
            if node.get("__fetch__"):
                node = await client.folder(prefix, FIELDS, depth)
            self._walk(node, prefix, 0, depth, found, pending)
        cursors = await self.store.cursors_of(name)
        announced = 0
        for job, last in found.items():
            number = last.get("number")
            if not isinstance(number, int):
                number = 0  # never built: its first completed build is news
            seen = cursors.get(job)
            if seen is not None and number <= seen:
                continue
            if seen is not None:
                build = generic_build(job, last)
                event = BuildCompleted(master=name, job=job, build=build)
                if await self.store.claim_announcement(
                    f"{name}/{job}/{number}", event.model_dump(mode="json"), self.owner
                ):
                    await bus.publish(event, subject=f"{name}/{job}")
                    await self.store.announced(f"{name}/{job}/{number}")
                    announced += 1
                    log.info("build completed", master=name, job=job, build=number, result=build["result"])
            await self.store.advance_cursor(name, job, number)
        return announced

    async def _poll_logged(self, name: str, bus: Bus) -> None:
        try:
            await self.poll(name, bus)
        except (MasterUnavailable, JenkinsRefused) as failed:
            log.warning("could not poll jenkins master", master=name, reason=str(failed))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("polling failed", master=name)

    async def republish_orphans(self, bus: Bus) -> None:
        for document in await self.store.orphaned_announcements(self.owner, self.orphan_ms):
            await bus.publish(BuildCompleted.model_validate(document["event"]))
            await self.store.announced(str(document["_id"]))

    async def loop(self, bus: Bus) -> None:
        """Poll every master every ``poll_interval`` seconds until cancelled."""
        while True:
            await asyncio.gather(*(self._poll_logged(name, bus) for name in list(self.masters.clients)))
            try:
                await self.republish_orphans(bus)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("republishing announcements failed")
            await asyncio.sleep(self.settings.poll_interval)
