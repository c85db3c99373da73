"""API tokens for ``static`` authentication: made here, stored only as their SHA-256 digest.

Run ``gennaker auth token create`` to print a new token (give it to the user, once), the
``token_sha256`` to put in the settings and the ``[[auth.users]]`` entry holding it (``python -m
gateway.auth`` prints the first two). The gateway never needs the token itself.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    """The hex SHA-256 digest of ``token``, as ``token_sha256`` holds it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random API token (256 bits, URL-safe)."""
    return "gnk_" + secrets.token_urlsafe(TOKEN_BYTES)


def main() -> None:
    """Print a new token and the digest to configure for it."""
    token = new_token()
    print(f"token (give to the user, it is not stored): {token}")
    print(f'token_sha256 (put in the settings):        "{hash_token(token)}"')
