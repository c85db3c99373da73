"""How the gateway learns who is calling: the ``auth`` section of the settings.

Three modes, chosen by ``mode``:

``none`` (the default, what ``gennaker up`` runs)
    Nobody is asked who they are; every caller is an anonymous admin. The gateway logs a warning
    saying so when it starts.

``static``
    Users listed in the settings, each with an API token sent as ``Authorization: Bearer <token>``.
    Only the token's SHA-256 hex digest is stored (``token_sha256``); make a token and its digest
    with ``gennaker auth token create``. API tokens are long random strings, so a fast
    unsalted digest is what GitHub-style token stores use: a salted slow hash (PBKDF2, bcrypt)
    protects guessable passwords and would only add its cost to every request here.

``oidc``
    ``Authorization: Bearer <JWT>`` issued by an OpenID Connect provider, checked against the
    issuer's JWKS (fetched over HTTP and cached), ``iss``, ``aud``, ``exp`` and ``nbf``.

Whatever the mode, a request arriving *from* an address in ``trusted_proxies`` may name its user
in ``X-SPINNAKER-USER`` (and its roles, comma separated, in ``X-SPINNAKER-ROLES``); from anywhere
else those headers are ignored. A user listed in ``users`` also gets the roles (and admin flag)
configured there when a proxy or an OIDC token names them.

Example (TOML)::

    [auth]
    mode = "oidc"
    admin_roles = ["spinnaker-admins"]
    trusted_proxies = ["10.0.0.0/8"]

    [auth.oidc]
    issuer = "https://login.example.com/realms/ops"
    audience = "gennaker"
    roles_claim = "groups"

    [[auth.users]]
    username = "ci-bot"
    token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    roles = ["deployers"]
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator, model_validator

from schemas.authority import Permission
from schemas.validation import listed_twice

AuthMode = Literal["none", "static", "oidc"]
SigningAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

DEFAULT_PUBLIC_PATHS: tuple[str, ...] = (
    "/",
    "/deck/*",
    "/health",
    "/metrics",
    "/openapi.json",
    "/swagger-ui.html",
    "/swagger-ui/*",
    "/webhooks/*",
    "/v1/webhooks/*",
)
"""Paths served without credentials: the web UI's page and bundle (it signs in itself), probes,
Prometheus, the API docs, and (as in Gate) webhook
triggers, which external systems call without Spinnaker credentials and which pipelines guard
with payload constraints. A trailing ``*`` matches any path with that prefix."""


class StaticUser(BaseModel):
    """One configured user: the digest of their API token, their roles, whether they are an admin.

    ``token_sha256`` may be left out for a user who only ever arrives through a trusted proxy or
    an OIDC token and is listed to be given roles.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1)
    token_sha256: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{64}$", description="hex SHA-256 of the API token; never the token itself"
    )
    roles: tuple[str, ...] = ()
    admin: bool = False
    email: str | None = None

    @field_validator("token_sha256")
    @classmethod
    def _lowercase_digest(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class OidcConfig(BaseModel):
    """Where the identity provider is and how to read its tokens.

    ``jwks_url`` defaults to the ``jwks_uri`` of ``{issuer}/.well-known/openid-configuration``.
    Keys are kept ``jwks_cache_seconds``; a token naming a key id the cache lacks refetches the
    set at once (key rotation), but not more often than every ``jwks_min_refetch_seconds``, so a
    flood of forged key ids cannot hammer the issuer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1)
    audience: tuple[str, ...] = Field(min_length=1, description="accepted `aud` values; one is enough")
    jwks_url: str | None = None
    roles_claim: str = Field("groups", description="claim holding the roles; dots reach nested claims")
    username_claim: str = Field("preferred_username", description="falls back to `sub` when absent")
    email_claim: str = "email"
    algorithms: tuple[SigningAlgorithm, ...] = Field(("RS256", "ES256"), min_length=1)
    jwks_cache_seconds: float = Field(300.0, ge=0)
    jwks_min_refetch_seconds: float = Field(10.0, ge=0)
    leeway_seconds: float = Field(30.0, ge=0, le=300)
    http_timeout_seconds: float = Field(5.0, gt=0)
    client_id: str | None = Field(
        None,
        min_length=1,
        description="the web UI's OAuth client id (a public client, authorization code with PKCE, redirect URI "
        "the gateway's own '/'); list it in `audience` too. Without it the UI offers token sign-in only",
    )
    ui_scopes: str = Field("openid profile email", description="scopes the web UI asks for when signing in")

    @field_validator("audience", mode="before")
    @classmethod
    def _one_audience_is_a_list(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("issuer")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class AuthConfig(BaseModel):
    """The ``auth`` settings; see the module docstring for the modes and an example."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: AuthMode = "none"
    users: tuple[StaticUser, ...] = ()
    oidc: OidcConfig | None = None
    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        (), description="addresses or CIDRs whose X-SPINNAKER-USER / X-SPINNAKER-ROLES headers are believed"
    )
    admin_roles: tuple[str, ...] = Field((), description="holding any of these roles makes a user an admin")
    public_paths: tuple[str, ...] = DEFAULT_PUBLIC_PATHS
    execute_fallback: Literal[Permission.READ, Permission.WRITE] = Permission.READ
    realm: str = "gennaker"
    failure_limit: int = Field(
        10, ge=1, description="failed authentications per client address (and per user) before 429s"
    )
    failure_window_seconds: float = Field(60.0, gt=0, description="the window failure_limit counts over")

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> Self:
        if self.mode == "oidc" and self.oidc is None:
            raise ValueError("auth mode 'oidc' needs an [auth.oidc] section with at least issuer and audience")
        if self.mode == "static" and not any(user.token_sha256 for user in self.users) and not self.trusted_proxies:
            raise ValueError(
                "auth mode 'static' needs at least one user with token_sha256 (make one with "
                "`gennaker auth token create`) or trusted_proxies"
            )
        duplicated = listed_twice(user.username for user in self.users)
        if duplicated:
            raise ValueError(f"auth users are listed twice: {', '.join(duplicated)}")
        digests = [user.token_sha256 for user in self.users if user.token_sha256]
        if len(digests) != len(set(digests)):
            raise ValueError("two auth users share one token_sha256; give each user its own token")
        return self

    def user(self, username: str) -> StaticUser | None:
        """The configured user of that name, if any."""
        return next((user for user in self.users if user.username == username), None)

    def is_public(self, path: str) -> bool:
        """Whether ``path`` is served without credentials."""
        for pattern in self.public_paths:
            if pattern.endswith("*") and path.startswith(pattern[:-1]):
                return True
            if path == pattern:
                return True
        return False
