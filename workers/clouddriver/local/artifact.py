"""What a ``local`` server group runs, read from its cluster config: the argv and the environment.

Pure checks of the stage's ``command`` and ``env`` (what *may* run is the account's fence, in
:mod:`workers.clouddriver.local.fence`); each refusal is an :class:`OperationFailed` saying what to write.
"""

from __future__ import annotations

import sys

from schemas.json_types import Json
from workers.clouddriver.provider import OperationFailed


def command_of(config: Json) -> list[str]:
    """The argv a server group's ``command`` names (a lone string is a one-word argv)."""
    command = config.get("command")
    if isinstance(command, str):
        command = [command]
    if not isinstance(command, list) or not command or not all(isinstance(part, str) for part in command):
        raise OperationFailed("the local artifact needs 'command', a non-empty list of strings (the argv)")
    return list(command)


def argv(command: list[str], port: int, instance_id: str) -> list[str]:
    """``command`` for one instance: ``{port}``, ``{python}`` and ``{instance}`` filled in."""
    try:
        return [part.format(port=port, python=sys.executable, instance=instance_id) for part in command]
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        raise OperationFailed(
            f"'command' may use only the placeholders {{port}}, {{python}} and {{instance}}: {error!r}"
        ) from None


def variables(config: Json) -> dict[str, str]:
    """The ``env`` a server group's config gives its instances, as strings."""
    env = config.get("env") or {}
    if not isinstance(env, dict):
        raise OperationFailed(f"'env' must be an object of variable names to values, got {env!r}")
    return {str(name): str(value) for name, value in env.items()}
