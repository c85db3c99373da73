"""Test helpers that act on the RabbitMQ broker itself, through ``rabbitmqctl``."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


def rabbitmqctl(*args: str) -> None:
    """Run ``rabbitmqctl`` quietly; fail the test naming the tool when it is missing."""
    command = shutil.which("rabbitmqctl")
    assert command, "rabbitmqctl is needed on the test machine to manage the broker"
    subprocess.run([command, "-q", *args], check=True, capture_output=True, timeout=60)


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
