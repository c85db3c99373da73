"""The whole system in this process, on a real TCP port a browser can reach, for the UI's tests.

Front50, Orca, Clouddriver (with the ``local`` provider, a ``kubernetes`` account, ``k8s``,
against the local API server of ``tests/kubernetes_server`` with its namespace ``web``, and an
``aws`` account, ``aws-prod``, on a moto server whose ``us-east-1`` has the image ``hello-1.0.0``), Echo
(whose history lets the event stream resume) and Kayenta (with an in-process metrics account,
``metrics``, whose ``canary`` scope's ``http_latency_seconds`` is three times its ``baseline``'s)
Rosco (baking the example app's package ``hello_1.0-1_all`` with the real Packer in the regions
``local`` and ``local-b``), Igor (with the master ``ci``, the local Jenkins server of
``tests/jenkins_server.py`` whose job ``hello/package`` archives ``build.properties``), Terraformer
(the bundled or installed Terraform) and Dinghy (with a git repository, ``acme/shop-pipelines``,
whose dinghyfile for ``dinghyshop`` is pushed and waits for its webhook,
:data:`RunningSystem.dinghy_pushes`) on a MemoryBus, mongoeco's wire server reached with PyMongo,
and the gateway with static API tokens for three users: ``admin``; ``olivia`` (``shop-owners``:
may change and run ``shop``, write to the three accounts); ``victor`` (``shop-viewers``: may only
read them).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import shutil
import subprocess
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pydantic import SecretStr
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import ServiceHost
from gateway.app import create_app
from gateway.auth.tokens import hash_token, new_token
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.auth_settings import AuthConfig, StaticUser
from schemas.dinghy import DinghyRepository, DinghySettings
from schemas.igor import IgorSettings, JenkinsMasterConfig
from schemas.json_types import Json
from tests.e2e.test_jenkins_bake_deploy import bakery
from tests.jenkins_server import TOKEN, USER, JenkinsServer, JobSpec, Parameter, jenkins_app
from tests.kubernetes_server import KubernetesApiServer
from workers.clouddriver import worker as clouddriver
from workers.clouddriver.aws import AwsConnector
from workers.clouddriver.aws.testing import MotoServer
from workers.dinghy import worker as dinghy
from workers.echo import worker as echo
from workers.front50 import worker as front50
from workers.igor import worker as igor
from workers.kayenta import worker as kayenta
from workers.kayenta.sources.memory import MemorySource
from workers.orca import worker as orca
from workers.rosco import worker as rosco
from workers.terraformer import worker as terraformer

ROOT = Path(__file__).resolve().parents[2]
HELLO = [sys.executable, str(ROOT / "examples" / "hello" / "app.py"), "--port", "{port}"]
PERMISSIONS = {"READ": ["shop-owners", "shop-viewers"], "WRITE": ["shop-owners"]}
AWS_REGION = "us-east-1"
SERVICES = ("front50", "orca", "clouddriver", "echo", "kayenta", "dinghy", "rosco", "igor", "terraformer")


def accounts(kubeconfig: Path, moto_url: str) -> list[Json]:
    """The ``local`` account (fenced to ``examples/``), ``k8s`` behind ``kubeconfig``, ``aws-prod`` on moto."""
    return [
        {
            "name": "local",
            "cloudProvider": "local",
            "permissions": PERMISSIONS,
            "local": {"artifactDirs": [str(ROOT / "examples")]},
        },
        {
            "name": "k8s",
            "cloudProvider": "kubernetes",
            "permissions": PERMISSIONS,
            "kubernetes": {"kubeconfigFile": str(kubeconfig), "context": "local"},
        },
        {
            "name": "aws-prod",
            "cloudProvider": "aws",
            "regions": [AWS_REGION],
            "permissions": PERMISSIONS,
            "aws": {"endpointUrl": moto_url, "accessKeyId": "testing", "secretAccessKey": "testing"},
        },
    ]


async def start_moto(stack: AsyncExitStack) -> MotoServer:
    """A moto server (stopped by ``stack``) whose region has the image ``hello-1.0.0`` to deploy."""
    moto = await asyncio.to_thread(MotoServer().start)
    stack.callback(moto.stop)
    connector = AwsConnector(moto.settings())
    try:
        ec2 = (await connector.region(AWS_REGION)).ec2
        await ec2.register_image(Name="hello-1.0.0", Architecture="x86_64", RootDeviceName="/dev/sda1")
    finally:
        await connector.close()
    return moto


def metrics() -> MemorySource:
    """Kayenta's metrics account: a canary whose latency is three times its baseline's."""
    source = MemorySource("metrics")
    wobble = [math.sin(i * 1.7) * 0.004 + math.cos(i * 0.9) * 0.003 for i in range(31)]
    source.put("baseline", "http_latency_seconds", [0.1 + w for w in wobble])
    source.put("canary", "http_latency_seconds", [0.3 + 3 * w for w in wobble])
    return source


JENKINS_JOB = "hello/package"


async def start_jenkins(stack: AsyncExitStack) -> JenkinsMasterConfig:
    """The local Jenkins server (stopped by ``stack``) as Igor's master ``ci``, which shop's owners may build on."""
    jenkins = JenkinsServer(csrf=True)
    properties = {"build.properties": b"PACKAGE=hello_1.0-1_all\nRELEASE=1.0\n"}
    jenkins.add_job(JENKINS_JOB, JobSpec([Parameter("VERSION")], queue_delay=0.2, artifacts=lambda _: properties))
    runner = web.AppRunner(jenkins_app(jenkins))
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return JenkinsMasterConfig.model_validate(
        {
            "name": "ci",
            "address": f"http://127.0.0.1:{port}",
            "username": USER,
            "password": TOKEN,
            "csrf": True,
            "permissions": PERMISSIONS,
        }
    )


def bakery_packages(data_dir: Path) -> None:
    """The example app as the package ``hello_1.0-1_all`` in Rosco's local repository."""
    package = data_dir / "packages" / "hello_1.0-1_all"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "hello" / "app.py", package / "app.py")


@dataclass
class RunningSystem:
    """What a browser test needs: the gateway's URL, each user's token, and the store to clean up."""

    url: str
    tokens: dict[str, str]
    db: AsyncDatabase[Json]
    dinghy_pushes: list[dict[str, str]] = field(default_factory=list)
    """GitHub's push webhooks (``body``, ``signature``, ``after``) of ``acme/shop-pipelines``: the dinghyfile, then
    :data:`BROKEN_DINGHYFILE`."""


DINGHY_SECRET = "deck-dinghy-secret"
DINGHYFILE = json.dumps(
    {
        "application": "dinghyshop",
        # restricted to a team of its own, so the scenarios that list olivia's applications do not see it
        "spec": {"email": "pipelines@example.com", "permissions": {"READ": ["dinghy-team"], "WRITE": ["dinghy-team"]}},
        "pipelines": [
            {"name": "deploy from git", "stages": [{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 1}]}
        ],
    },
    indent=2,
)


BROKEN_DINGHYFILE = DINGHYFILE.replace('"Soak"', '"{{ nope }}"')
"""The dinghyfile broken on line 21 by a function Dinghy does not define."""


def _signed_push(before: str, after: str) -> dict[str, str]:
    """The webhook GitHub would send for the push of ``after`` to ``main``, signed."""
    repository = {"full_name": "acme/shop-pipelines", "html_url": "https://github.example/acme/shop-pipelines"}
    push = {"ref": "refs/heads/main", "before": before, "after": after, "repository": repository}
    body = json.dumps({**push, "pusher": {"name": "ada"}})
    signature = "sha256=" + hmac.new(DINGHY_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"body": body, "signature": signature, "after": after}


def dinghy_repository(root: Path) -> tuple[DinghyRepository, list[dict[str, str]]]:
    """A bare repository with the dinghyfile pushed to ``main`` and then a broken one, and the two webhooks."""
    root.mkdir(parents=True, exist_ok=True)
    bare, work = root / "shop-pipelines.git", root / "shop-pipelines"
    identity = ["-c", "user.name=Ada", "-c", "user.email=ada@example.com"]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    subprocess.run(["git", "checkout", "-q", "-b", "main"], cwd=work, check=True)
    commits = ["0" * 40]
    for text, message in ((DINGHYFILE, "pipelines as code"), (BROKEN_DINGHYFILE, "a typo")):
        (work / "dinghyfile").write_text(text)
        subprocess.run(["git", "add", "dinghyfile"], cwd=work, check=True)
        subprocess.run(["git", *identity, "commit", "-q", "-m", message], cwd=work, check=True)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True)
        commits.append(head.stdout.strip())
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=work, check=True, capture_output=True)
    repository = DinghyRepository(
        name="acme/shop-pipelines", url=str(bare), default_branch="main", secret=SecretStr(DINGHY_SECRET)
    )
    return repository, [_signed_push(commits[0], commits[1]), _signed_push(commits[1], commits[2])]


async def start_system(stack: AsyncExitStack, data_dir: Path) -> RunningSystem:
    """Start everything; ``stack`` stops it in reverse order."""
    tokens = {name: new_token() for name in ("admin", "olivia", "victor")}
    auth = AuthConfig(
        mode="static",
        users=(
            StaticUser(username="admin", token_sha256=hash_token(tokens["admin"]), admin=True),
            StaticUser(username="olivia", token_sha256=hash_token(tokens["olivia"]), roles=("shop-owners",)),
            StaticUser(username="victor", token_sha256=hash_token(tokens["victor"]), roles=("shop-viewers",)),
        ),
    )
    kubernetes = await stack.enter_async_context(KubernetesApiServer(namespaces=("web",), ready_seconds=0.2))
    kubeconfig = kubernetes.kubeconfig(data_dir.with_name("kubeconfig"), namespace="web")
    moto = await start_moto(stack)
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    address = await server.start()
    stack.push_async_callback(server.close)
    mongo: AsyncMongoClient[Json] = AsyncMongoClient(address.uri)
    stack.push_async_callback(mongo.close)
    repository, pushes = await asyncio.to_thread(dinghy_repository, data_dir.with_name("git"))
    dinghy_settings = DinghySettings(repositories=[repository], service_roles=("dinghy-team",))
    master = await start_jenkins(stack)
    bakery_packages(data_dir)
    settings = Settings(
        data_dir=data_dir,
        dinghy=dinghy_settings,
        rosco=bakery(data_dir),
        igor=IgorSettings(jenkins=[master], build_poll_interval=0.2),
    )
    resources = WorkerResources(settings=settings, db=mongo["gennaker"])
    bus = MemoryBus()
    stack.push_async_callback(bus.close)
    for service in (
        front50.build_service(resources),
        orca.build_service(resources),
        clouddriver.build_service(
            resources, accounts=accounts(kubeconfig, moto.url), heartbeat_seconds=1, refresh_seconds=2
        ),
        echo.build_service(resources),
        kayenta.build_service(resources, sources={"metrics": metrics()}),
        dinghy.build_service(resources),
        rosco.build_service(resources),
        igor.build_service(resources),
        terraformer.build_service(resources),
    ):
        host = ServiceHost(bus, service)
        await host.start()
        stack.push_async_callback(host.stop)
    config = GatewayConfig(version="9.9.9", services=SERVICES, auth=auth)
    app = create_app(bus, config)
    runner = web.AppRunner(app)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return RunningSystem(url=f"http://127.0.0.1:{port}/", tokens=tokens, db=resources.db, dinghy_pushes=pushes)
