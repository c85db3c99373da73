"""Fixtures shared by every suite: the broker's address and a unique name per test; and the hooks
that let the suite run in several xdist workers (:mod:`tests.parallel`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from ulid import ULID

from tests.broker import delete_stale_vhosts, own_vhost, session_vhost
from tests.parallel import ALONE, RunLock, alone_last, xdist_worker

AMQP_URL = os.environ.get("GENNAKER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
"""The broker; tests that take this rather than ``amqp_url`` make a virtual host of their own on it."""

_RUN_LOCK = pytest.StashKey[RunLock]()


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """RabbitMQ for the AMQP suites, in a virtual host of this session's own, deleted at its end: tests
    in other xdist workers or runs (and messages an earlier run left behind) share none of its queues,
    exchanges or dead letters. They fail, never skip, when the broker does not answer. The virtual
    hosts of sessions that were killed (their owner process gone) are deleted first."""
    delete_stale_vhosts()
    with own_vhost(AMQP_URL, session_vhost(xdist_worker() or "session")) as url:
        yield url


@pytest.fixture
def unique() -> str:
    """A name no other test (or earlier run) uses, for queues and services."""
    return f"t{str(ULID()).lower()}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    alone_last(items)


def pytest_sessionstart(session: pytest.Session) -> None:
    if xdist_worker() is None:
        return
    basetemp = session.config.option.basetemp
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "run")
    path = Path(basetemp).parent / "run.lock" if basetemp else Path(tempfile.gettempdir()) / f"gennaker-{run}.lock"
    lock = RunLock(path)
    lock.share()
    session.config.stash[_RUN_LOCK] = lock


def pytest_sessionfinish(session: pytest.Session) -> None:
    lock = session.config.stash.get(_RUN_LOCK, None)
    if lock is not None:
        lock.close()


@pytest.hookimpl(tryfirst=True, wrapper=True)  # outside pytest-timeout's: waiting for the others is not the test's time
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    lock = item.config.stash.get(_RUN_LOCK, None)
    if lock is not None:
        if item.get_closest_marker(ALONE) is not None:
            lock.alone()
            try:
                return (yield)
            finally:
                lock.release()
        lock.share()
    return (yield)
