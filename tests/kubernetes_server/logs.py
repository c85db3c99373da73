"""What a pod's container "printed", for ``GET .../pods/{name}/log?container=``: nothing runs here,
so a container's log is what its ``echo`` commands would print.

A container whose ``command`` is ``["echo", ...]`` prints its words and ``args`` on one line; one
whose command is ``["sh", "-c", SCRIPT]`` (or ``/bin/sh``) prints one line per ``echo`` in the
script (statements split on ``;``, ``&&`` and new lines, words as the shell splits them); any other
container prints nothing. A real kubelet returns what the process wrote.
"""

from __future__ import annotations

import re
import shlex

from schemas.json_types import Json
from tests.kubernetes_server.errors import ApiFailure

_STATEMENTS = re.compile(r";|&&|\n")


def _echoed(words: list[str]) -> list[str]:
    if not words:
        return []
    if words[0] == "echo":
        return [" ".join(words[1:])]
    if words[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and len(words) >= 3 and words[1] == "-c":
        lines = []
        for statement in _STATEMENTS.split(words[2]):
            try:
                parts = shlex.split(statement)
            except ValueError:
                continue
            if parts and parts[0] == "echo":
                lines.append(" ".join(parts[1:]))
        return lines
    return []


def container_log(pod: Json, container: str | None) -> str:
    """The log of ``container`` (the only one when ``None``) of ``pod``, or the API server's refusal."""
    name = pod["metadata"]["name"]
    containers = [c for c in ((pod.get("spec") or {}).get("containers") or []) if isinstance(c, dict)]
    if container is None:
        if len(containers) != 1:
            choices = " ".join(str(c.get("name")) for c in containers)
            raise ApiFailure(
                400, "BadRequest", f"a container name must be specified for pod {name}, choose one of: [{choices}]"
            )
        chosen = containers[0]
    else:
        found = [c for c in containers if c.get("name") == container]
        if not found:
            raise ApiFailure(400, "BadRequest", f"container {container} is not valid for pod {name}")
        chosen = found[0]
    if (pod.get("status") or {}).get("phase", "Pending") == "Pending":
        raise ApiFailure(
            400,
            "BadRequest",
            f'container "{chosen.get("name")}" in pod "{name}" is waiting to start: ContainerCreating',
        )
    words = [str(word) for word in [*(chosen.get("command") or []), *(chosen.get("args") or [])]]
    lines = _echoed(words)
    return "".join(f"{line}\n" for line in lines)
