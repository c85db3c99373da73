"""A test session killed before its teardown leaves its virtual host; the next one deletes it, and
leaves the virtual hosts of live sessions alone."""

from __future__ import annotations

import contextlib
import subprocess

import pytest
from ulid import ULID

from tests.broker import delete_stale_vhosts, host_label, rabbitmqctl

pytestmark = pytest.mark.amqp


def _vhosts() -> set[str]:
    return set(rabbitmqctl("list_vhosts", "--no-table-headers", "name").split())


def test_vhosts_of_killed_sessions_are_deleted_and_no_others(amqp_url: str) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    live = subprocess.Popen(["sleep", "30"])
    host = host_label()
    names = {
        "dead": f"gennaker-test-leftovers-{str(ULID()).lower()}-pid{gone.pid}-{host}",
        "live": f"gennaker-test-leftovers-{str(ULID()).lower()}-pid{live.pid}-{host}",
    }  # another host's, and the older form that names no owner: tests/unit/test_stale_vhosts.py
    try:
        for name in names.values():
            rabbitmqctl("add_vhost", name)
        deleted = delete_stale_vhosts()
        assert names["dead"] in deleted
        left = _vhosts()
        assert names["dead"] not in left
        assert names["live"] in left
        assert amqp_url.rsplit("/", 1)[1] in left  # this session's own
    finally:
        live.kill()
        live.wait()
        for name in set(names.values()) & _vhosts():
            with contextlib.suppress(subprocess.CalledProcessError):
                rabbitmqctl("delete_vhost", name)
