"""Fixtures shared by every suite: the broker's address and a unique name per test."""

from __future__ import annotations

import os

import pytest
from ulid import ULID

AMQP_URL = os.environ.get("GENNAKER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def amqp_url() -> str:
    """RabbitMQ for the AMQP suites. They fail, never skip, when it does not answer."""
    return AMQP_URL


@pytest.fixture
def unique() -> str:
    """A name no other test (or earlier run) uses, for queues and services."""
    return f"t{str(ULID()).lower()}"
