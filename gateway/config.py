"""What the gateway needs to know that it cannot ask the bus: who to expect, and how long to wait."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.auth_settings import AuthConfig
from schemas.services import SERVICES


@dataclass(frozen=True)
class GatewayConfig:
    """Settings the runner hands to :func:`gateway.app.create_app`.

    ``query_timeout`` is how many seconds a read waits for its reply and ``command_timeout`` how
    many a write waits for the event answering it, before a 504 (``None``: the defaults of
    :mod:`gateway.command_results`, 5 and 10). ``sse_heartbeat`` is how many idle seconds pass
    before an event stream sends a comment, so proxies keep the connection open; ``sse_buffer`` is
    how many events one slow client may lag behind before the bus stops handing it more (its
    private queue then holds them). ``auth`` says who may call (see :mod:`schemas.auth_settings`);
    the default lets everyone in as an admin.

    ``max_body_bytes`` bounds a request body (413 beyond it). ``allowed_hosts`` are the ``Host``
    names the gateway answers to (``None``: localhost, 127.0.0.1, [::1] and ``host``) and
    ``cors_allowed_origins`` the other origins whose pages may call it; see :mod:`gateway.browser`.
    """

    version: str
    services: tuple[str, ...] = SERVICES
    host: str = "127.0.0.1"
    port: int = 8084
    health_timeout: float = 2.0
    query_timeout: float | None = None
    command_timeout: float | None = None
    sse_heartbeat: float = 15.0
    sse_buffer: int = 256
    auth: AuthConfig = field(default_factory=AuthConfig)
    max_body_bytes: int = 1024 * 1024
    allowed_hosts: tuple[str, ...] | None = None
    cors_allowed_origins: tuple[str, ...] = ()
