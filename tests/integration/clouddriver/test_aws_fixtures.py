"""Fixtures for the aws provider suites: one moto server per module, a provider and account per test.

The provider reaches moto over HTTP (``aws.endpointUrl``), so every operation crosses the wire as
it would against AWS. moto's state is reset before each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from schemas.clouddriver import AccountConfig
from workers.clouddriver.aws import AwsProvider
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.testing import MotoServer
from workers.clouddriver.provider import Account

REGION = "us-east-1"
OTHER_REGION = "us-west-2"
ACCOUNT = "aws-test"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    """A moto server for the whole module."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws_config(moto: MotoServer) -> AccountConfig:
    """An ``aws`` account on the moto server, freshly reset."""
    moto.reset()
    return AccountConfig.model_validate(
        {
            "name": ACCOUNT,
            "cloudProvider": "aws",
            "regions": [REGION, OTHER_REGION],
            "aws": {"endpointUrl": moto.url, "accessKeyId": "testing", "secretAccessKey": "testing"},
        }
    )


@pytest.fixture
def account(aws_config: AccountConfig) -> Account:
    """The account as Clouddriver's core hands it to a provider (its public details only)."""
    return Account.from_details(aws_config.details())


@pytest.fixture
async def provider(aws_config: AccountConfig) -> AsyncIterator[AwsProvider]:
    """The aws provider with the account's settings, closed after the test."""
    aws = AwsProvider([aws_config])
    yield aws
    await aws.close()


@pytest.fixture
async def clients(provider: AwsProvider, account: Account) -> RegionClients:
    """The provider's own clients for :data:`REGION`, to look at AWS directly."""
    return await provider.clients(account, REGION)


async def register_image(clients: RegionClients, name: str, tags: dict[str, str] | None = None) -> str:
    """An AMI called ``name`` owned by the account, tagged with ``tags``; its id."""
    image_id = (await clients.ec2.register_image(Name=name, Architecture="x86_64", RootDeviceName="/dev/sda1"))[
        "ImageId"
    ]
    if tags:
        await clients.ec2.create_tags(Resources=[image_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return image_id


@pytest.fixture
async def image(clients: RegionClients) -> str:
    """An image ``hello-1.0.0`` in :data:`REGION`; its id."""
    return await register_image(clients, "hello-1.0.0", {"appversion": "hello-1.0.0-h1"})
