"""The AWS API clients of one account, one set per region, over aiobotocore.

Why aiobotocore and not boto3 in a thread: Clouddriver is an asyncio worker, and aiobotocore is
botocore (the same request signing, retries, pagination and service models as boto3) with its
HTTP done by aiohttp, which Gennaker already runs on. Calls are awaited on the worker's loop, so a
slow AWS answer holds no thread, and a describe of every region runs concurrently without a thread
pool to size. ``types-aiobotocore`` gives mypy the exact request and response shapes.

A client is opened the first time a region is asked for and kept (with its connection pool) until
:meth:`AwsConnector.close`.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.clouddriver import AwsAccountSettings

if TYPE_CHECKING:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import AioSession
    from types_aiobotocore_autoscaling import AutoScalingClient
    from types_aiobotocore_ec2 import EC2Client
    from types_aiobotocore_elbv2 import ElasticLoadBalancingv2Client


def client_config() -> AioConfig:
    """Standard retry mode (throttling and 5xx, with backoff), bounded timeouts.

    aiobotocore is imported here, when an AWS account is first used, not when Clouddriver starts:
    it was an eighth of ``gennaker up``'s start-up for installs with no AWS account.
    """
    from aiobotocore.config import AioConfig

    return AioConfig(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=20,
    )


@dataclass(frozen=True)
class RegionClients:
    """EC2, Auto Scaling and ELBv2 clients for one region of one account."""

    region: str
    ec2: EC2Client
    autoscaling: AutoScalingClient
    elbv2: ElasticLoadBalancingv2Client


class AwsConnector:
    """Opens and keeps one :class:`RegionClients` per region for an account's settings.

    Example::

        connector = AwsConnector(AwsAccountSettings(endpoint_url="http://127.0.0.1:5000"))
        clients = await connector.region("us-east-1")
        await clients.ec2.describe_vpcs()
        await connector.close()
    """

    def __init__(self, settings: AwsAccountSettings | None = None) -> None:
        self.settings = settings or AwsAccountSettings()
        self._session: AioSession | None = None
        self._stack = AsyncExitStack()
        self._regions: dict[str, RegionClients] = {}
        self._lock = asyncio.Lock()

    async def region(self, region: str) -> RegionClients:
        """The clients for ``region``, opened on first use."""
        if (clients := self._regions.get(region)) is not None:
            return clients
        async with self._lock:
            if (clients := self._regions.get(region)) is None:
                clients = await self._open(region)
                self._regions[region] = clients
        return clients

    async def _open(self, region: str) -> RegionClients:
        settings = self.settings
        endpoint = settings.endpoint_url
        key = settings.access_key_id
        secret = settings.secret_access_key.get_secret_value() if settings.secret_access_key else None
        token = settings.session_token.get_secret_value() if settings.session_token else None
        if self._session is None:
            from aiobotocore.session import AioSession, get_session

            self._session = AioSession(profile=settings.profile) if settings.profile else get_session()
        create, enter = self._session.create_client, self._stack.enter_async_context
        config = client_config()
        ec2 = await enter(
            create(
                "ec2",
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=config,
            )
        )
        autoscaling = await enter(
            create(
                "autoscaling",
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=config,
            )
        )
        elbv2 = await enter(
            create(
                "elbv2",
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=config,
            )
        )
        return RegionClients(region=region, ec2=ec2, autoscaling=autoscaling, elbv2=elbv2)

    async def close(self) -> None:
        """Close every client this connector opened."""
        self._regions.clear()
        await self._stack.aclose()
