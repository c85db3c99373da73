"""Fiat's authorisation matrix: who may READ, WRITE and EXECUTE an application or an account."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from gateway.auth import ANONYMOUS, ANONYMOUS_ADMIN, Permission, Principal, authorizations, can, readable

READ, WRITE, EXECUTE = Permission.READ, Permission.WRITE, Permission.EXECUTE


def user(*roles: str, admin: bool = False) -> Principal:
    return Principal(username="ann", roles=frozenset(roles), admin=admin)


SHOP = {"READ": ["dev", "ops"], "WRITE": ["ops"]}
"""A typical restricted application without EXECUTE roles: EXECUTE falls back to READ."""


@pytest.mark.parametrize("permissions", [None, {}, {"READ": [], "WRITE": [], "EXECUTE": []}, {"READ": ["", "  "]}])
def test_a_resource_without_roles_is_open_to_every_authenticated_user(permissions: Mapping[str, list[str]]) -> None:
    assert authorizations(user(), permissions) == {READ, WRITE, EXECUTE}
    assert authorizations(user("anything"), permissions) == {READ, WRITE, EXECUTE}


@pytest.mark.parametrize("permissions", [None, {}, SHOP])
def test_a_caller_without_credentials_may_do_nothing(permissions: Mapping[str, list[str]] | None) -> None:
    assert authorizations(ANONYMOUS, permissions) == set()


@pytest.mark.parametrize("permissions", [None, SHOP, {"READ": ["nobody"], "WRITE": ["nobody"], "EXECUTE": ["x"]}])
def test_admins_and_the_anonymous_admin_of_mode_none_may_do_everything(
    permissions: Mapping[str, list[str]] | None,
) -> None:
    assert authorizations(user(admin=True), permissions) == {READ, WRITE, EXECUTE}
    assert authorizations(ANONYMOUS_ADMIN, permissions) == {READ, WRITE, EXECUTE}


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (("dev",), {READ, EXECUTE}),
        (("ops",), {READ, WRITE, EXECUTE}),
        (("dev", "ops"), {READ, WRITE, EXECUTE}),
        (("qa",), set()),
        ((), set()),
    ],
)
def test_roles_listed_under_an_action_grant_it(roles: tuple[str, ...], expected: set[Permission]) -> None:
    assert authorizations(user(*roles), SHOP) == expected


def test_write_does_not_imply_read_as_in_fiat() -> None:
    write_only = {"READ": ["dev"], "WRITE": ["ops"]}

    assert not can(user("ops"), write_only, READ)
    assert can(user("ops"), write_only, WRITE)
    assert not can(user("ops"), write_only, EXECUTE), "EXECUTE falls back to READ's roles, not WRITE's"


def test_an_explicit_execute_list_replaces_the_fallback() -> None:
    permissions = {"READ": ["dev", "ops"], "WRITE": ["ops"], "EXECUTE": ["releasers"]}

    assert not can(user("dev"), permissions, EXECUTE)
    assert not can(user("ops"), permissions, EXECUTE)
    assert can(user("releasers"), permissions, EXECUTE)
    assert not can(user("releasers"), permissions, READ)


def test_execute_can_fall_back_to_write_instead() -> None:
    assert can(user("ops"), SHOP, EXECUTE, execute_fallback=WRITE)
    assert not can(user("dev"), SHOP, EXECUTE, execute_fallback=WRITE)


def test_an_execute_only_list_restricts_everything_else() -> None:
    permissions = {"EXECUTE": ["releasers"]}

    assert authorizations(user("releasers"), permissions) == {EXECUTE}
    assert authorizations(user("dev"), permissions) == set()


def test_accounts_have_their_own_read_and_write() -> None:
    prod = {"READ": ["dev", "ops"], "WRITE": ["ops"]}

    assert can(user("dev"), prod, READ) and not can(user("dev"), prod, WRITE)
    assert can(user("ops"), prod, READ) and can(user("ops"), prod, WRITE)
    assert not can(user("qa"), prod, READ)


def test_roles_and_actions_compare_trimmed_and_case_insensitively() -> None:
    assert can(user("DEV"), {"READ": [" Dev "]}, READ)
    assert can(user("dev"), {"read": ["DEV"]}, READ)
    assert not can(user("dev"), {"read": ["DEV"]}, WRITE)


def test_a_single_role_given_as_a_string_is_one_role_not_its_letters() -> None:
    permissions: Mapping[str, Iterable[str]] = {"READ": "dev"}

    assert can(user("dev"), permissions, READ)
    assert not can(user("d"), permissions, READ)


def test_readable_keeps_only_what_the_caller_may_read_in_order() -> None:
    apps = [("shop", SHOP), ("open", None), ("secret", {"READ": ["ops"]}), ("writers", {"WRITE": ["dev"]})]

    def names(principal: Principal) -> list[str]:
        return [name for name, _ in readable(principal, apps, lambda app: app[1])]

    assert names(user("dev")) == ["shop", "open"]
    assert names(user("ops")) == ["shop", "open", "secret"]
    assert names(user("qa")) == ["open"]
    assert names(user(admin=True)) == ["shop", "open", "secret", "writers"]
    assert names(ANONYMOUS) == []
