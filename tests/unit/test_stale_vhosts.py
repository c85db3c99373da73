"""Which virtual hosts a new test session may delete: only those of killed sessions of this machine."""

from __future__ import annotations

import pytest

from tests.broker import host_label, session_vhost, stale_vhosts

ULID = "01m8y91kbgxdbwwr3a3yeenqv0"
DEAD, LIVE = 4242, 77


@pytest.mark.parametrize(
    ("name", "stale"),
    [
        (f"gennaker-test-gw0-{ULID}-pid{DEAD}-vm", True),
        (f"gennaker-test-session-{ULID}-pid{DEAD}-vm", True),
        (f"gennaker-test-gw1-{ULID}-pid{LIVE}-vm", False),  # a live session's
        (f"gennaker-test-gw0-{ULID}-pid{DEAD}-other-box", False),  # another machine's: its pids are not ours
        (f"gennaker-test-gw0-{ULID}", False),  # the older form names no owner: it may be a live session's
        (f"gennaker-rosco-{ULID}-pid{DEAD}-vm", False),  # not a session's
        ("/", False),
        (f"gennaker-test-gw0-{ULID}-pid0-vm", False),
    ],
)
def test_only_vhosts_of_dead_sessions_on_this_host_are_stale(name: str, stale: bool) -> None:
    assert stale_vhosts([name], "vm", alive=lambda pid: pid == LIVE) == ([name] if stale else [])


def test_a_session_vhost_names_this_process_and_host() -> None:
    name = session_vhost("gw3")
    assert stale_vhosts([name], host_label()) == []  # this process is alive
    assert stale_vhosts([name], host_label(), alive=lambda pid: False) == [name]
    assert host_label("Build_Box.example.COM") == "build-box-example-com"
