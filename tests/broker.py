"""Test helpers that act on the RabbitMQ broker itself, through ``rabbitmqctl``.

A pytest session's own virtual host (:func:`session_vhost`) names the process that owns it and
its host: ``gennaker-test-<worker>-<ulid>-pid<pid>-<host>``. A session killed before its teardown
leaves its virtual host behind; the next session deletes those whose owner process is gone
(:func:`delete_stale_vhosts`). Only those: a virtual host of a live session (on this machine or
another), and one named in an older form that does not say its owner, is never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

from ulid import ULID

from gennaker.host import process_alive

SESSION_PREFIX = "gennaker-test-"
_OWNED = re.compile(r"^gennaker-test-[a-z0-9]+-[0-9a-z]{26}-pid(?P<pid>[1-9][0-9]*)-(?P<host>[a-z0-9-]+)$")


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


def host_label(hostname: str | None = None) -> str:
    """This machine's name as a virtual host's name may carry it (lowercase letters, digits, dashes)."""
    label = re.sub(r"[^a-z0-9-]+", "-", (hostname or socket.gethostname()).lower()).strip("-")
    return label[:63] or "host"


def session_vhost(worker: str) -> str:
    """A new session virtual host's name, owned by this process on this host."""
    return f"{SESSION_PREFIX}{worker}-{str(ULID()).lower()}-pid{os.getpid()}-{host_label()}"


def stale_vhosts(names: Iterable[str], host: str, alive: Callable[[int], bool] = process_alive) -> list[str]:
    """The session virtual hosts among ``names`` owned by a process of ``host`` that is gone."""
    stale = []
    for name in names:
        owner = _OWNED.match(name)
        if owner is not None and owner["host"] == host and not alive(int(owner["pid"])):
            stale.append(name)
    return stale


def delete_stale_vhosts() -> list[str]:
    """Delete the virtual hosts killed sessions of this machine left behind; the names deleted."""
    names = rabbitmqctl("list_vhosts", "--no-table-headers", "name").split()
    deleted = []
    for name in stale_vhosts(names, host_label()):
        with contextlib.suppress(subprocess.CalledProcessError):  # another session deleted it first
            rabbitmqctl("delete_vhost", name)
            deleted.append(name)
    return deleted
