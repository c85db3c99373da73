"""An Echo sink in a process of its own, for the crash test: runs a Splunk HEC sink until it is killed."""

from __future__ import annotations

import asyncio
import sys

import structlog

from bus.amqp import AmqpBus
from schemas.echo_sinks import SplunkSink
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.echo.sinks import SinkRunner


async def main(url: str, name: str, pattern: str, hec_url: str, token: str, batch_size: int) -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout says "ready"
    bus = await AmqpBus.connect(url, source="/test/sink-victim")
    config = SplunkSink(
        name=name,
        url=hec_url,
        token=token,
        patterns=(pattern,),
        batch_size=batch_size,
        batch_seconds=0.05,
        retry_base_delay=0.05,
        retry_max_delay=0.1,
    )
    running = asyncio.create_task(SinkRunner(config, LOOPBACK_TEST_SERVERS).run(bus))
    await asyncio.sleep(0.5)  # its queue is declared and bound by now
    print("ready", flush=True)
    await running


if __name__ == "__main__":
    url, name, pattern, hec_url, token, batch_size = sys.argv[1:]
    asyncio.run(main(url, name, pattern, hec_url, token, int(batch_size)))
