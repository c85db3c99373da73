"""The three PATCH bodies the API server takes: JSON merge (RFC 7386), strategic merge, JSON patch (RFC 6902).

Strategic merge here is JSON merge plus Kubernetes' merge of the lists it knows by key
(containers, volumes, env, ports… by ``name``; ``$patch: delete`` in a list item removes it;
``$retainKeys`` and ``$setElementOrder`` directives are not implemented). A real API server
reads the merge keys from each type's OpenAPI schema and knows many more.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "env": "name",
    "envFrom": None,
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "tolerations": None,
}
"""Lists merged item by item on this key in a strategic merge (``None``: replaced whole)."""


class PatchError(ValueError):
    """A patch that cannot apply to the object (a JSON patch ``test`` that fails, a bad path)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merged key by key, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str | None = None) -> Any:
    """A strategic merge patch: :func:`merge_patch` with keyed lists merged by their merge key."""
    if isinstance(patch, list) and isinstance(target, list) and MERGE_KEYS.get(field or ""):
        key = MERGE_KEYS[field or ""]
        merged = [copy.deepcopy(item) for item in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                merged.append(copy.deepcopy(item))
                continue
            index = next(
                (i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item[key]), None
            )
            if item.get("$patch") == "delete":
                if index is not None:
                    merged.pop(index)
            elif index is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[index] = strategic_merge(merged[index], item)
        return merged
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge(result.get(key), value, key)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"json patch path {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = document
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError(f"json patch path {path!r} does not exist") from None
    return node, parts[-1]


def _get(document: Any, path: str) -> Any:
    node = document
    for part in _pointer(path):
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError(f"json patch path {path!r} does not exist") from None
    return node


def _remove(document: Any, path: str) -> Any:
    parent, last = _parent(document, _pointer(path), path)
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, IndexError, ValueError):
        raise PatchError(f"json patch path {path!r} does not exist") from None


def _add(document: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(document, parts, path)
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent):
            raise PatchError(f"json patch path {path!r} is past the end of the list")
        parent.insert(index, copy.deepcopy(value))
    elif isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    else:
        raise PatchError(f"json patch path {path!r} does not name an object or a list")
    return document


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: ``add``, ``remove``, ``replace``, ``move``, ``copy`` and ``test``, in order."""
    if not isinstance(operations, list):
        raise PatchError("a json patch is a list of operations")
    document = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise PatchError(f"json patch operation {operation!r} needs 'op' and 'path'")
        op, path = operation.get("op"), operation["path"]
        if op == "add":
            document = _add(document, path, operation.get("value"))
        elif op == "remove":
            _remove(document, path)
        elif op == "replace":
            _remove(document, path)
            document = _add(document, path, operation.get("value"))
        elif op in ("move", "copy"):
            source = str(operation.get("from", ""))
            value = _remove(document, source) if op == "move" else copy.deepcopy(_get(document, source))
            document = _add(document, path, value)
        elif op == "test":
            if _get(document, path) != operation.get("value"):
                raise PatchError(f"json patch test failed at {path!r}")
        else:
            raise PatchError(f"json patch op {op!r} is not one of add, remove, replace, move, copy, test")
    return document
