"""Whether a versioned ReplicaSet is in its load balancers, as Spinnaker's Kubernetes provider judges it.

A red/black deploy records the Services a version serves behind in its
``traffic.spinnaker.io/load-balancers`` annotation and, to take an old version out, removes those
Services' selector labels from its pod template and pods. A server group naming Services of which
none selects its pod template is *disabled*: Gate shows it so, and targets with ``onlyEnabled``
skip it. One naming none is never disabled (nothing manages its traffic).
"""

from __future__ import annotations

import json

from schemas.json_types import Json
from workers.clouddriver.kubernetes.manifests import notes_of, split_name
from workers.clouddriver.provider import OperationFailed

LOAD_BALANCERS = "traffic.spinnaker.io/load-balancers"
MAX_NAMED = 64
"""Services one annotation may name before the rest are ignored (the annotation is user-written)."""


def named_services(item: Json) -> list[str]:
    """The Service names (bare) the item's ``traffic.spinnaker.io/load-balancers`` annotation lists."""
    text = notes_of(item).get(LOAD_BALANCERS)
    if not isinstance(text, str):
        return []
    try:
        named = json.loads(text)
    except ValueError:
        return []
    if not isinstance(named, list):
        return []
    found: list[str] = []
    for entry in named[:MAX_NAMED]:
        if not isinstance(entry, str) or not entry.strip():
            continue
        try:
            kind, name = split_name(entry if " " in entry.strip() else f"service {entry}")
        except OperationFailed:
            continue
        if kind == "Service":
            found.append(name)
    return found


def is_disabled(item: Json, selectors: dict[tuple[str, str], Json]) -> bool:
    """Whether none of the Services ``item`` names selects its pod template's labels.

    ``selectors`` holds each Service's selector by ``(namespace, name)``; a missing Service or one
    without a selector selects nothing.
    """
    named = named_services(item)
    if not named:
        return False
    namespace = item["metadata"].get("namespace", "")
    template = ((item.get("spec") or {}).get("template") or {}).get("metadata") or {}
    labels: Json = template.get("labels") or {}
    for name in named:
        selector = selectors.get((namespace, name)) or {}
        if selector and all(labels.get(key) == value for key, value in selector.items()):
            return False
    return True
