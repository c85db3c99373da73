"""A Clouddriver to SIGKILL: ``gennaker worker clouddriver`` as a process, run as deployed, and the test's view of it.

The crash tests (``local`` provider, red/black deploys, ``kubernetes``) share this set-up: a
mongoeco wire server, an :class:`~bus.amqp.AmqpBus` on a virtual host of the test's own, a
:class:`~tests.integration.clouddriver.conftest.Clouddriver` tapping ``clouddriver.task.*``, and
the environment a worker process needs to reach all that with the test's accounts. The test starts
and kills the processes itself (:func:`start_clouddriver`); everything else is closed afterwards.

Example::

    async with killable_clouddriver(vhost_url, tmp_path, accounts) as (driver, env):
        first = await start_clouddriver(env)
        await driver.send(command)
        await first.kill()
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

from bus import Endpoint
from bus.amqp import AmqpBus
from schemas.json_types import Json
from tests.integration.clouddriver.conftest import Clouddriver, stop_everything
from tests.integration.test_up import Process, cli_env
from tests.mongo import start_store

LOCAL_ACCOUNTS: list[Json] = [{"name": "local", "cloudProvider": "local", "local": {"unrestricted": True}}]


@contextlib.asynccontextmanager
async def killable_clouddriver(
    vhost_url: str, tmp_path: Path, accounts: list[Json], *, check_orphans: bool = True
) -> AsyncIterator[tuple[Clouddriver, dict[str, str]]]:
    """The store, the bus, the tap and a worker process's environment; ``check_orphans``: afterwards,
    stop every process the store started and fail if any ran outside Clouddriver's records."""
    server, mongo = await start_store()
    bus = await AmqpBus.connect(vhost_url, source="/test")
    driver = Clouddriver(bus, mongo["gennaker"], tmp_path)
    tap = await bus.consume(
        Endpoint(service="t", kind="events", patterns=("clouddriver.task.*",), raw_handler=driver.tap, durable=False)
    )
    env = cli_env(
        GENNAKER_AMQP_URL=vhost_url,
        GENNAKER_MONGO_URL=str(server.address.uri),
        GENNAKER_DATA_DIR=str(tmp_path),
        GENNAKER_METRICS_PORT="0",
        GENNAKER_ACCOUNTS=json.dumps(accounts),
    )
    try:
        yield driver, env
    finally:
        await tap.stop()
        await bus.close()
        orphans = await stop_everything(driver.db) if check_orphans else []
        await mongo.close()
        await server.close()
        assert orphans == [], f"processes left outside Clouddriver's records: {orphans}"


async def start_clouddriver(env: dict[str, str]) -> Process:
    """``gennaker worker clouddriver`` with ``env``, once it says it is running."""
    process = await Process.start("worker", "clouddriver", env=env)
    await process.wait_for_stderr("worker running")
    return process
