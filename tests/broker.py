"""Test helpers that act on the RabbitMQ broker itself, through ``rabbitmqctl``."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


def rabbitmqctl(*args: str) -> str:
    """Run ``rabbitmqctl`` quietly and return what it printed; fail the test naming the tool when it is missing."""
    command = shutil.which("rabbitmqctl")
    assert command, "rabbitmqctl is needed on the test machine to manage the broker"
    return subprocess.run([command, "-q", *args], check=True, capture_output=True, timeout=60, text=True).stdout


_CONNECTION_NAME = re.compile(r'\{"connection_name","([^"]*)"\}')


def close_connections(vhost: str, name_contains: str, reason: str = "closed by a test") -> int:
    """Close every client connection to ``vhost`` whose client-given name contains ``name_contains``
    (an :class:`~bus.amqp.AmqpBus` names its connection after its source, e.g. ``/gennaker/orca/…``),
    as a broker or network failure would; returns how many. Other suites' connections are left alone."""
    listing = rabbitmqctl("list_connections", "--no-table-headers", "pid", "vhost", "client_properties")
    closed = 0
    for line in listing.splitlines():
        pid, _, rest = line.partition("\t")
        connection_vhost, _, properties = rest.partition("\t")
        name = _CONNECTION_NAME.search(properties)
        if connection_vhost == vhost and name is not None and name_contains in name.group(1):
            with contextlib.suppress(subprocess.CalledProcessError):  # it closed meanwhile
                rabbitmqctl("close_connection", pid, reason)
                closed += 1
    return closed


@contextlib.contextmanager
def own_vhost(amqp_url: str, name: str) -> Iterator[str]:
    """A virtual host ``name`` on the broker of ``amqp_url``, for one test's queues alone (no other
    test's workers take its commands); yields its URL and deletes it with everything in it."""
    rabbitmqctl("add_vhost", name)
    try:
        user = urlsplit(amqp_url).username or "guest"
        rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        yield urlunsplit(urlsplit(amqp_url)._replace(path=f"/{name}"))
    finally:
        rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def broker_away(amqp_url: str, vhost: str, name_contains: str) -> Iterator[int]:
    """The broker, as the connections to ``vhost`` named with ``name_contains`` see it, goes away and
    stays away until the block ends: their connections are closed and reconnecting is refused (the
    user loses its permissions on ``vhost`` meanwhile). The rest of the broker, and every other
    suite, carry on. Yields how many connections were closed."""
    user = urlsplit(amqp_url).username or "guest"
    rabbitmqctl("clear_permissions", "-p", vhost, user)
    try:
        yield close_connections(vhost, name_contains, "the broker goes away (a test)")
    finally:
        rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
