"""Who is calling (authentication) and what they may do (authorisation, as Spinnaker's Fiat does).

A route checks permissions with :func:`require` (403 unless the caller may act on one resource)
and filters lists with :func:`readable`; :func:`principal_of` gives the caller. The settings are
:class:`AuthConfig`; :func:`install_auth` and :func:`auth_middleware` are wired by
:func:`gateway.app.create_app`.
"""

from gateway.auth.access import readable, require
from gateway.auth.errors import AccessDenied, AuthError, AuthRefusal, AuthUnavailable, Unauthenticated
from gateway.auth.middleware import auth_middleware, install_auth, principal_of
from gateway.auth.model import ANONYMOUS, ANONYMOUS_ADMIN, Permission, Permissions, Principal, authorizations, can
from gateway.auth.routes import ROUTES
from gateway.auth.tokens import hash_token, new_token
from schemas.auth_settings import AuthConfig, OidcConfig, StaticUser

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_ADMIN",
    "ROUTES",
    "AccessDenied",
    "AuthConfig",
    "AuthError",
    "AuthRefusal",
    "AuthUnavailable",
    "OidcConfig",
    "Permission",
    "Permissions",
    "Principal",
    "StaticUser",
    "Unauthenticated",
    "auth_middleware",
    "authorizations",
    "can",
    "hash_token",
    "install_auth",
    "new_token",
    "principal_of",
    "readable",
    "require",
]
