"""Authorities for tests that put commands on the bus themselves, as the gateway or Orca would.

Every command that acts for somebody carries an :class:`~schemas.authority.Authority`; a test
that is not about permissions acts as an admin, so no service needs to look anything up.
"""

from __future__ import annotations

from schemas.authority import Authority

ADMIN = Authority.anonymous_admin()
"""Every caller under authentication ``none``: may do anything."""


def admin(name: str) -> Authority:
    """An admin called ``name`` (a test that checks who is recorded as having acted)."""
    return Authority(user=name, admin=True)
