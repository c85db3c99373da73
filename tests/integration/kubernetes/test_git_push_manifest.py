"""A GitHub push deploys the manifest it changed: the file artifact Echo binds from the push is the
one ``deployManifest`` fetches, at the pushed commit, through the configured artifact account.

The gateway, Echo, Front50, Orca and Clouddriver run on one MemoryBus with authentication on
(``tests.security.authority_world``); the Kubernetes API server and GitHub's contents API are the
local ones in ``tests/``. The trigger runs as its ``runAsUser`` service account, which may EXECUTE
``shop`` and WRITE the ``k8s`` account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from pydantic import SecretStr
from ulid import ULID

from bus.service import Service
from gennaker.resources import WorkerResources
from schemas.artifact_accounts import ArtifactAccount, ArtifactSettings
from schemas.echo import WebhookProcessed
from schemas.front50 import SaveServiceAccount
from schemas.json_types import Json
from schemas.orca_engine import ExecutionStarted
from tests.artifact_server import ArtifactServer
from tests.conftest import AMQP_URL
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.outbound import LOOPBACK_TEST_SERVERS
from tests.security.authority_world import SHOP, World, authority, running_world
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions

pytestmark = pytest.mark.asyncio(loop_scope="module")

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
MANIFEST: Json = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "pushed"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "pushed"}},
        "template": {
            "metadata": {"labels": {"app": "pushed"}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
        },
    },
}


class Rig:
    def __init__(self, world: World, server: KubernetesApiServer, files: ArtifactServer) -> None:
        self.world = world
        self.server = server
        self.files = files


def _echo(resources: WorkerResources) -> list[Service]:
    return [echo.build_service(resources, triggers=TriggerOptions(refresh_seconds=0.5, instance="echo-gitpush"))]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    work_dir: Path = tmp_path_factory.mktemp("git-push")
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=0.1) as server:
        accounts = [server.account(work_dir / "kubeconfig", namespace="web")]
        github = ArtifactSettings(accounts=[ArtifactAccount(name="github-acme", type="github", token=SecretStr("gh"))])
        async with (
            ArtifactServer(github_token="gh", gitlab_token="gl", basic=("bob", "pw")) as files,
            running_world(
                "memory",
                work_dir,
                amqp_url=AMQP_URL,
                vhost=f"git-push-{str(ULID()).lower()}",
                accounts=accounts,
                extra=_echo,
                settings_fields={"artifacts": github, "outbound": LOOPBACK_TEST_SERVERS},
            ) as world,
        ):
            await world.create_application("shop", SHOP)
            bot = {"name": "deploy-bot", "memberOf": ["shop-owners", "prod-deployers"]}
            await world.answer(await world.send(SaveServiceAccount(service_account=bot, authority=authority("admin"))))
            yield Rig(world, server, files)


def pipeline() -> Json:
    expected = {
        "id": "manifest",
        "displayName": "web manifest",
        "matchArtifact": {"type": "github/file", "name": "deploy/web.yaml", "artifactAccount": "github-acme"},
        "useDefaultArtifact": False,
        "usePriorArtifact": False,
    }
    trigger = {
        "type": "git",
        "enabled": True,
        "source": "github",
        "project": "acme",
        "slug": "shop",
        "branch": "main",
        "runAsUser": "deploy-bot",
        "expectedArtifactIds": ["manifest"],
    }
    deploy = {
        "refId": "1",
        "requisiteStageRefIds": [],
        "type": "deployManifest",
        "name": "Deploy the pushed manifest",
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "source": "artifact",
        "manifestArtifactId": "manifest",
        "moniker": {"app": "shop"},
        "waitForUpTimeoutSeconds": 20,
    }
    return {
        "application": "shop",
        "name": f"on-push-{ULID()}",
        "expectedArtifacts": [expected],
        "triggers": [trigger],
        "stages": [deploy],
    }


def push(files: ArtifactServer, *changed: str) -> Json:
    return {
        "ref": "refs/heads/main",
        "after": SHA,
        "repository": {
            "name": "shop",
            "owner": {"name": "acme"},
            "contents_url": f"{files.url}/repos/acme/shop/contents/{{+path}}",
        },
        "commits": [{"added": [], "modified": list(changed)}],
    }


async def processed(rig: Rig, config_id: str, body: Json) -> Any:
    """POST the push (as GitHub does) until Echo knows the config; Echo's verdict on it."""

    async def verdict() -> Json:
        response = await rig.world.client.post("/webhooks/git/github", json=body, headers={"X-GitHub-Event": "push"})
        assert response.status == 200, await response.text()
        event_id = (await response.json())["eventId"]
        return await rig.world.event(WebhookProcessed, lambda data: data["event_id"] == event_id)

    return await rig.world.until(
        verdict, lambda found: config_id in found["triggered"] or config_id in found["refused"]
    )


async def test_a_push_deploys_the_manifest_it_changed_at_the_pushed_commit(rig: Rig) -> None:
    rig.files.github[(SHA, "deploy/web.yaml")] = yaml.safe_dump(MANIFEST).encode()
    config_id = await rig.world.save_pipeline(pipeline())

    readme_only = await processed(rig, config_id, push(rig.files, "README.md"))
    assert readme_only["refused"][config_id].startswith("expectedArtifactIds: none of the 1 artifact(s)")

    verdict = await processed(rig, config_id, push(rig.files, "README.md", "deploy/web.yaml"))
    assert verdict["triggered"] == [config_id], verdict
    started = await rig.world.event(ExecutionStarted, lambda event: event["pipeline_config_id"] == config_id)
    execution = await rig.world.finished(started["execution_id"])
    stage = execution["stages"][0]
    assert execution["status"] == "SUCCEEDED", stage["context"].get("exception")
    assert execution["authentication"]["user"] == "deploy-bot"
    [bound] = execution["trigger"]["resolvedExpectedArtifacts"]
    assert bound["boundArtifact"] == {
        "type": "github/file",
        "name": "deploy/web.yaml",
        "version": SHA,
        "reference": f"{rig.files.url}/repos/acme/shop/contents/deploy/web.yaml",
    }
    assert rig.server.store.find(KIND["Deployment"], "web", "pushed") is not None
    fetched = [
        request for request in rig.files.requests if request["path"] == "/repos/acme/shop/contents/deploy/web.yaml"
    ]
    assert [request["query"] for request in fetched] == [{"ref": SHA}]
