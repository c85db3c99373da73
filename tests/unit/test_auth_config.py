"""The auth settings refuse what cannot work, and never hold a token in clear."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from gateway.auth import AuthConfig, OidcConfig, StaticUser, hash_token, new_token
from gateway.auth.authenticators import NoneAuthenticator, StaticTokenAuthenticator, principal_for
from gateway.auth.middleware import build_authenticator
from gateway.auth.proxy import TrustedProxyAuthenticator
from gateway.config import GatewayConfig

DIGEST = hash_token("s3cret")


def test_the_default_is_mode_none_and_the_gateway_config_carries_it() -> None:
    assert AuthConfig().mode == "none"
    assert GatewayConfig(version="1").auth == AuthConfig()
    assert isinstance(build_authenticator(AuthConfig()), NoneAuthenticator)


def test_token_hash_is_the_hex_sha256_and_new_tokens_are_long_and_distinct() -> None:
    assert hash_token("s3cret") == hashlib.sha256(b"s3cret").hexdigest()
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 40


def test_a_user_holds_a_digest_and_has_nowhere_to_put_a_clear_token() -> None:
    assert StaticUser(username="ann", token_sha256=DIGEST.upper()).token_sha256 == DIGEST
    with pytest.raises(ValidationError, match="token_sha256"):
        StaticUser(username="ann", token_sha256="s3cret")
    with pytest.raises(ValidationError, match="token"):
        StaticUser.model_validate({"username": "ann", "token": "s3cret"})


def test_mode_static_needs_a_user_with_a_token_or_a_trusted_proxy() -> None:
    with pytest.raises(ValidationError, match=r"gennaker auth token create`"):
        AuthConfig(mode="static", users=(StaticUser(username="ann", roles=("dev",)),))
    assert AuthConfig(mode="static", trusted_proxies=("10.0.0.0/8",)).mode == "static"


def test_users_and_tokens_are_unique() -> None:
    with pytest.raises(ValidationError, match="listed twice: ann"):
        AuthConfig(mode="static", users=(StaticUser(username="ann", token_sha256=DIGEST),) * 2)
    with pytest.raises(ValidationError, match="share one token_sha256"):
        AuthConfig(
            mode="static",
            users=(StaticUser(username="ann", token_sha256=DIGEST), StaticUser(username="bob", token_sha256=DIGEST)),
        )


def test_mode_oidc_needs_its_section_and_reads_one_audience_as_a_list() -> None:
    with pytest.raises(ValidationError, match=r"\[auth.oidc\]"):
        AuthConfig(mode="oidc")
    oidc = OidcConfig.model_validate({"issuer": "https://id.example.com/", "audience": "gennaker"})
    assert oidc.audience == ("gennaker",)
    assert oidc.issuer == "https://id.example.com"
    assert (oidc.roles_claim, oidc.username_claim, oidc.algorithms) == (
        "groups",
        "preferred_username",
        ("RS256", "ES256"),
    )
    with pytest.raises(ValidationError, match="algorithms"):
        OidcConfig.model_validate({"issuer": "https://id", "audience": "g", "algorithms": ["HS256"]})
    with pytest.raises(ValidationError, match="algorithms"):
        OidcConfig.model_validate({"issuer": "https://id", "audience": "g", "algorithms": ["none"]})


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="modes"):
        AuthConfig.model_validate({"modes": "static"})


def test_public_paths_match_exactly_or_by_prefix() -> None:
    config = AuthConfig()
    assert config.is_public("/health") and config.is_public("/swagger-ui/swagger-ui.css")
    assert config.is_public("/webhooks/webhook/github")
    assert not config.is_public("/healthz") and not config.is_public("/applications")
    assert not config.is_public("/auth/user")


def test_configured_roles_and_admin_roles_make_the_principal() -> None:
    config = AuthConfig(
        mode="static",
        admin_roles=("Spinnaker-Admins",),
        users=(
            StaticUser(username="ann", token_sha256=DIGEST, roles=("Dev",), email="ann@example.com"),
            StaticUser(username="root", admin=True),
        ),
    )
    ann = principal_for(config, "ann", ["ops "])
    assert ann.roles == {"dev", "ops"} and not ann.admin and ann.email == "ann@example.com"
    assert principal_for(config, "bob", ["spinnaker-admins"]).admin
    assert principal_for(config, "root").admin
    assert not principal_for(config, "carl", ["dev"]).admin
    assert principal_for(AuthConfig(), "anyone").admin, "under mode none everybody is an admin"


@pytest.mark.parametrize(
    ("remote", "trusted"),
    [
        ("10.1.2.3", True),
        ("::ffff:10.1.2.3", True),
        ("192.168.0.9", True),
        ("192.168.0.10", False),
        ("11.0.0.1", False),
        ("fd00::1", True),
        ("fe80::1%eth0", False),
        (None, False),
        ("not-an-ip", False),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(remote: str | None, trusted: bool) -> None:
    config = AuthConfig(trusted_proxies=("10.0.0.0/8", "192.168.0.9", "fd00::/8"))
    authenticator = build_authenticator(config)
    assert isinstance(authenticator, TrustedProxyAuthenticator)
    assert authenticator.trusts(remote) is trusted


def test_static_mode_builds_the_token_authenticator() -> None:
    config = AuthConfig(mode="static", users=(StaticUser(username="ann", token_sha256=DIGEST),))
    assert isinstance(build_authenticator(config), StaticTokenAuthenticator)


def test_the_public_surface_of_gateway_auth_is_deliberate() -> None:
    import gateway.auth

    assert set(gateway.auth.__all__) == {
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
    }
    assert all(hasattr(gateway.auth, name) for name in gateway.auth.__all__)
