"""One contract for every cloud provider: the promises of :mod:`workers.clouddriver.provider`.

Each test runs on every provider through the ``cloud`` fixture: ``local`` (processes of the example
app on this machine, recorded in a mongoeco store), ``aws`` (moto run as a server, reached over
HTTP as AWS would be) and ``kubernetes`` (the local API server of :mod:`tests.kubernetes_server`,
reached with lightkube over HTTP). The promises checked are the ones Clouddriver's core builds on:
operations are idempotent (a create of an existing name adopts it; destroying, disabling or
deleting what is already so succeeds and changes nothing), capacity and rotation read back as set,
and a name the cloud does not know reads as ``None``.

A provider may make server groups and load balancers another way (Kubernetes applies manifests
with ``deployManifest``, as Spinnaker's V2 provider does): its harness makes them that way
(:meth:`Harness.make`), and the operations it leaves to that way (:attr:`Harness.refuses`) must be
refused with an :class:`OperationFailed` naming the way, before anything changes.

Adding a provider is one fixture parameter: write a ``Harness`` subclass that builds the provider,
its account and a :class:`CreateServerGroup` it can run, add its name to :data:`PROVIDERS` and a
branch to :func:`open_harness`. Nothing else in this module names a provider.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from schemas.clouddriver import AccountConfig
from tests.kubernetes_server import KubernetesApiServer
from tests.mongo import fresh_database
from workers.clouddriver.aws import AwsProvider
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.testing import MotoServer
from workers.clouddriver.descriptions import (
    CreateServerGroup,
    DeleteLoadBalancer,
    DestroyServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    UpsertLoadBalancer,
)
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.local.provider import LocalProvider
from workers.clouddriver.local.store import LocalStore
from workers.clouddriver.model import Capacity
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed, no_progress

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ["local", "aws", "kubernetes"]


class Harness:
    """A provider, an account it serves, and how to describe a server group it can create."""

    refuses: ClassVar[dict[str, str]] = {}
    """The operations this provider leaves to another way, each with the words its refusal names it by."""

    def __init__(self, provider: CloudProvider, account: Account, region: str) -> None:
        self.provider = provider
        self.account = account
        self.region = region

    def create(self, name: str, *, desired: int = 1) -> CreateServerGroup:
        """A create of ``name`` (``app-stack-vNNN``) with ``desired`` instances."""
        raise NotImplementedError

    async def prepare(self) -> None:
        """Whatever the cloud needs before a create (an image to launch)."""

    async def make(self, name: str) -> str:
        """Make (or adopt) server group ``name`` with one instance the provider's way; the name it reads back by."""
        made = await self.provider.create_server_group(self.account, self.create(name), no_progress)
        return made.name

    async def make_load_balancer(self, name: str) -> str:
        """Make (or update) load balancer ``name`` the provider's way; the name it reads back by."""
        upsert = UpsertLoadBalancer(account=self.account.name, region=self.region, name=name)
        result = await self.provider.upsert_load_balancer(self.account, upsert, no_progress)
        # the result names the balancer; its shape differs today (aws: Spinnaker's
        # {"loadBalancers": {region: ...}}, local: the balancer's own keys), so only that is asserted
        assert name in json.dumps(result)
        return name


class LocalHarness(Harness):
    def create(self, name: str, *, desired: int = 1) -> CreateServerGroup:
        command = [sys.executable, str(ROOT / "examples" / "hello" / "app.py"), "--port", "{port}"]
        return CreateServerGroup(
            account=self.account.name,
            region=self.region,
            application=name.split("-")[0],
            stack=name.split("-")[1],
            server_group_name=name,
            capacity=Capacity(min=0, max=4, desired=desired),
            config={"command": command, "env": {"HELLO_VERSION": "v1"}, "stopTimeoutSeconds": 5},
        )


class AwsHarness(Harness):
    async def prepare(self) -> None:
        assert isinstance(self.provider, AwsProvider)
        clients: RegionClients = await self.provider.clients(self.account, self.region)
        await clients.ec2.register_image(Name="hello-1.0.0", Architecture="x86_64", RootDeviceName="/dev/sda1")

    def create(self, name: str, *, desired: int = 1) -> CreateServerGroup:
        return CreateServerGroup(
            account=self.account.name,
            region=self.region,
            application=name.split("-")[0],
            stack=name.split("-")[1],
            server_group_name=name,
            capacity=Capacity(min=0, max=4, desired=desired),
            image="hello-1.0.0",
            config={"instanceType": "m5.large"},
        )


class KubernetesHarness(Harness):
    """Server groups are ReplicaSets and load balancers Services, applied as ``deployManifest`` applies them."""

    refuses: ClassVar[dict[str, str]] = {
        "create_server_group": "deployManifest",
        "enable_server_group": "trafficManagement",
        "disable_server_group": "trafficManagement",
        "upsert_load_balancer": "deployManifest",
    }

    def create(self, name: str, *, desired: int = 1) -> CreateServerGroup:
        return CreateServerGroup(
            account=self.account.name,
            region=self.region,
            application=name.split("-")[0],
            stack=name.split("-")[1],
            server_group_name=name,
            capacity=Capacity(min=0, max=4, desired=desired),
            image="hello:1.0.0",
        )

    def _metadata(self, name: str) -> dict[str, Any]:
        notes = {"moniker.spinnaker.io/application": name.split("-")[0], "moniker.spinnaker.io/cluster": name}
        return {"name": name, "namespace": self.region, "annotations": notes}

    async def make(self, name: str) -> str:
        assert isinstance(self.provider, KubernetesProvider)
        labels = {"app": name}
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": self._metadata(name),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "hello", "image": "hello:1.0.0"}]},
                },
            },
        }
        await self.provider.apply(self.account, manifest)
        return f"replicaSet {name}"

    async def make_load_balancer(self, name: str) -> str:
        assert isinstance(self.provider, KubernetesProvider)
        spec = {"selector": {"app": name}, "ports": [{"port": 80}]}
        await self.provider.apply(
            self.account, {"apiVersion": "v1", "kind": "Service", "metadata": self._metadata(name), "spec": spec}
        )
        return f"service {name}"


@contextlib.asynccontextmanager
async def open_harness(kind: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """The harness of provider ``kind``, everything it started stopped afterwards."""
    if kind == "local":
        async with fresh_database() as db:
            details: dict[str, Any] = {"name": "contract-local", "cloudProvider": "local"}
            account = Account.from_details(details, {"local": {"unrestricted": True}})
            local = LocalProvider(LocalStore(db), tmp_path / "local", drain_seconds=0.1)
            await local.start()
            harness: Harness = LocalHarness(local, account, "local")
            try:
                yield harness
            finally:
                snapshot = await local.describe(account)
                for group in snapshot.server_groups:
                    target = DestroyServerGroup(account=account.name, region=group.region, server_group_name=group.name)
                    await local.destroy_server_group(account, target, no_progress)
                for balancer in snapshot.load_balancers:
                    gone = DeleteLoadBalancer(account=account.name, region=balancer.region, name=balancer.name)
                    await local.delete_load_balancer(account, gone, no_progress)
                await local.close()
    elif kind == "aws":
        with MotoServer() as moto:
            config = AccountConfig.model_validate(
                {
                    "name": "contract-aws",
                    "cloudProvider": "aws",
                    "regions": ["us-east-1"],
                    "aws": {"endpointUrl": moto.url, "accessKeyId": "testing", "secretAccessKey": "testing"},
                }
            )
            aws = AwsProvider([config])
            try:
                yield AwsHarness(aws, Account.from_details(config.details()), "us-east-1")
            finally:
                await aws.close()
    elif kind == "kubernetes":
        async with KubernetesApiServer(ready_seconds=0.05) as server:
            settings = {"kubernetes": {"kubeconfigFile": str(server.kubeconfig(tmp_path / "kubeconfig"))}}
            kubernetes = KubernetesProvider()
            account = Account(name="contract-kubernetes", cloud_provider="kubernetes", settings=settings)
            try:
                yield KubernetesHarness(kubernetes, account, "default")
            finally:
                await kubernetes.close()
    else:
        raise AssertionError(f"no harness for provider {kind!r}")


@pytest.fixture(params=PROVIDERS)
async def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """Each contract test runs once per provider."""
    async with open_harness(request.param, tmp_path) as harness:
        await harness.prepare()
        yield harness


def target(cloud: Harness, name: str) -> dict[str, str]:
    return {"account": cloud.account.name, "region": cloud.region, "server_group_name": name}


async def refused(cloud: Harness, operation: str, description: Any) -> None:
    """``operation`` is one ``cloud`` leaves to another way: refused, naming that way."""
    with pytest.raises(OperationFailed, match=cloud.refuses[operation]):
        await getattr(cloud.provider, operation)(cloud.account, description, no_progress)


async def test_a_create_run_again_adopts_the_server_group_it_made(cloud: Harness) -> None:
    first = await cloud.make("hello-contract-v000")
    again = await cloud.make("hello-contract-v000")
    assert first == again
    snapshot = await cloud.provider.describe(cloud.account)
    assert [group.name for group in snapshot.server_groups].count(first) == 1
    found = await cloud.provider.server_group(cloud.account, cloud.region, first)
    assert found is not None and found.capacity.desired == 1
    if "create_server_group" in cloud.refuses:
        await refused(cloud, "create_server_group", cloud.create("hello-contract-v001"))
        assert await cloud.provider.server_group(cloud.account, cloud.region, "hello-contract-v001") is None


async def test_a_name_the_cloud_does_not_know_reads_as_none(cloud: Harness) -> None:
    assert await cloud.provider.server_group(cloud.account, cloud.region, "nothing-here-v000") is None


async def test_resize_sets_the_capacity_that_reads_back(cloud: Harness) -> None:
    name = await cloud.make("hello-resize-v000")
    resize = ResizeServerGroup(**target(cloud, name), capacity=Capacity(min=0, max=4, desired=0))
    await cloud.provider.resize_server_group(cloud.account, resize, no_progress)
    await cloud.provider.resize_server_group(cloud.account, resize, no_progress)
    found = await cloud.provider.server_group(cloud.account, cloud.region, name)
    assert found is not None and found.capacity.desired == 0


async def test_disable_and_enable_change_rotation_and_repeat_harmlessly(cloud: Harness) -> None:
    name = await cloud.make("hello-rotation-v000")
    disable = DisableServerGroup(**target(cloud, name))
    enable = EnableServerGroup(**target(cloud, name))
    if "disable_server_group" in cloud.refuses:
        await refused(cloud, "disable_server_group", disable)
        await refused(cloud, "enable_server_group", enable)
        untouched = await cloud.provider.server_group(cloud.account, cloud.region, name)
        assert untouched is not None and not untouched.disabled
        return
    for _ in range(2):
        await cloud.provider.disable_server_group(cloud.account, disable, no_progress)
    disabled = await cloud.provider.server_group(cloud.account, cloud.region, name)
    assert disabled is not None and disabled.disabled
    for _ in range(2):
        await cloud.provider.enable_server_group(cloud.account, enable, no_progress)
    enabled = await cloud.provider.server_group(cloud.account, cloud.region, name)
    assert enabled is not None and not enabled.disabled


async def test_destroy_removes_the_server_group_and_destroying_what_is_gone_succeeds(cloud: Harness) -> None:
    name = await cloud.make("hello-destroy-v000")
    destroy = DestroyServerGroup(**target(cloud, name))
    await cloud.provider.destroy_server_group(cloud.account, destroy, no_progress)
    await cloud.provider.destroy_server_group(cloud.account, destroy, no_progress)
    missing = DestroyServerGroup(**target(cloud, "never-made-v000"))
    await cloud.provider.destroy_server_group(cloud.account, missing, no_progress)
    assert await cloud.provider.server_group(cloud.account, cloud.region, name) is None


async def test_a_load_balancer_upserted_twice_is_one_and_deleting_it_twice_succeeds(cloud: Harness) -> None:
    for _ in range(2):
        name = await cloud.make_load_balancer("hello-contract-lb")
    snapshot = await cloud.provider.describe(cloud.account)
    assert [balancer.name for balancer in snapshot.load_balancers].count(name) == 1
    if "upsert_load_balancer" in cloud.refuses:
        upsert = UpsertLoadBalancer(account=cloud.account.name, region=cloud.region, name="hello-other-lb")
        await refused(cloud, "upsert_load_balancer", upsert)
    delete = DeleteLoadBalancer(account=cloud.account.name, region=cloud.region, name=name)
    for _ in range(2):
        await cloud.provider.delete_load_balancer(cloud.account, delete, no_progress)
    snapshot = await cloud.provider.describe(cloud.account)
    assert name not in [balancer.name for balancer in snapshot.load_balancers]
