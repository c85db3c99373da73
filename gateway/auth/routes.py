"""``GET /auth/user``: who the gateway thinks you are, in Gate's shape, so Deck can show and check it.

Deck calls it at start-up: a user means logged in, a 401 means "authenticate first". Under
authentication ``none`` it answers with the anonymous user.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api_model import ApiModel, json_reply
from gateway.auth.errors import AuthRefusal
from gateway.auth.middleware import principal_of
from gateway.routing import Response, Route


class GrantedAuthority(ApiModel):
    """One of Spring Security's granted authorities, as Gate lists a user's roles."""

    authority: str


class AuthUser(ApiModel):
    """Gate's ``User``: the name, e-mail and roles of the caller.

    ``allowed_accounts`` stays empty until accounts come from Clouddriver; ``admin`` is a Gennaker
    addition saying every check passes for this caller.
    """

    username: str
    email: str | None = None
    roles: list[str]
    authorities: list[GrantedAuthority]
    allowed_accounts: list[str] = []
    enabled: bool = True
    account_non_expired: bool = True
    account_non_locked: bool = True
    credentials_non_expired: bool = True
    admin: bool = False


async def get_auth_user(request: web.Request) -> web.Response:
    """The caller as :class:`AuthUser`."""
    principal = principal_of(request)
    roles = sorted(principal.roles)
    return json_reply(
        AuthUser(
            username=principal.username,
            email=principal.email,
            roles=roles,
            authorities=[GrantedAuthority(authority=role) for role in roles],
            admin=principal.admin,
        )
    )


ROUTES = (
    Route(
        "GET",
        "/auth/user",
        get_auth_user,
        summary="The authenticated user",
        tag="auth",
        responses={
            200: Response("The caller's name and roles", AuthUser),
            401: Response("No valid credentials were sent", AuthRefusal),
        },
    ),
)
