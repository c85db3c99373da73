"""``gennaker auth token create``: a new API token for a user of ``static`` authentication.

It prints the token (hand it to the user once: it is stored nowhere), its token_sha256 (the only
thing the gateway keeps) and an [[auth.users]] entry ready to paste into the settings file.
Restart the gateway with the settings changed; the user then sends ``Authorization: Bearer
<token>``, or the CLI does with ``GENNAKER_TOKEN``. With ``--output token`` only the token is
printed, for scripts; ``--output json`` (or ``yaml``) prints all three as one object.

Examples::

    gennaker auth token create --username olivia --role shop-owners
    gennaker auth token create --username ci-bot --role deployers --role readers --output json
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING

from gennaker.commands._common import CliError
from gennaker.commands._formats import print_data

if TYPE_CHECKING:
    from gennaker.settings import Settings

OUTPUT_FORMATS = ("text", "json", "yaml", "token")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``auth token create`` to the CLI."""
    parser = commands.add_parser(
        "auth",
        parents=[common],
        help="make API tokens for static authentication",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="auth_command", required=True, metavar="COMMAND")
    token = kinds.add_parser("token", parents=[common], help="API tokens", description=__doc__)
    actions = token.add_subparsers(dest="token_command", required=True, metavar="COMMAND")
    create = actions.add_parser(
        "create",
        parents=[common],
        help="print a new token, its token_sha256 and the settings entry for it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("--username", metavar="NAME", help="the user the token is for (default: your login name)")
    create.add_argument(
        "--role", dest="roles", action="append", default=[], metavar="ROLE", help="a role of the user (repeatable)"
    )
    create.add_argument("--admin", action="store_true", help="the user is an admin (may do anything)")
    create.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="text",
        help="text (the default), json or yaml (one object), or token (the token alone)",
    )
    create.set_defaults(run=run_create)


def users_entry(username: str, digest: str, roles: list[str], *, admin: bool = False) -> str:
    """The ``[[auth.users]]`` TOML table for one user, strings quoted as TOML reads them back."""
    lines = [
        "[[auth.users]]",
        f"username = {json.dumps(username)}",
        f"token_sha256 = {json.dumps(digest)}",
        f"roles = [{', '.join(json.dumps(role) for role in roles)}]",
    ]
    if admin:
        lines.append("admin = true")
    return "\n".join(lines)


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    """Mint one token; warn on stderr when the settings' auth mode would not ask for it."""
    from pydantic import ValidationError

    from gateway.auth.tokens import hash_token, new_token
    from schemas.auth_settings import StaticUser
    from schemas.validation import describe_problems

    username = args.username if args.username is not None else _login_name()
    roles = list(dict.fromkeys(args.roles))
    token = new_token()
    digest = hash_token(token)
    try:
        StaticUser(username=username, token_sha256=digest, roles=tuple(roles), admin=args.admin)
    except ValidationError as error:
        raise CliError(f"cannot make a user entry: {describe_problems(error)}", code=2) from None
    if settings.auth.mode != "static":
        print(
            f'gennaker: the auth mode is "{settings.auth.mode}", so the gateway asks for no token; set mode = "static" '
            "under [auth] in the settings file and add the [[auth.users]] entry, then restart the gateway",
            file=sys.stderr,
        )
    entry = users_entry(username, digest, roles, admin=args.admin)
    if args.output == "token":
        print(token)
    elif args.output in ("json", "yaml"):
        document = {
            "username": username,
            "roles": roles,
            "admin": args.admin,
            "token": token,
            "token_sha256": digest,
            "toml": entry,
        }
        print_data(document, args.output)
    else:
        print(f"token (give to the user, it is not stored): {token}")
        print(f'token_sha256 (put in the settings):        "{digest}"')
        print()
        print('# add to the settings file, under [auth] with mode = "static":')
        print(entry)
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except OSError:
        raise CliError("cannot tell who you are; name the token's user with --username", code=2) from None
