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


def is_disabled(item: Json, selectors: dict[tuple[str, str], Json], manager: Json | None = None) -> bool:
    """Whether none of the Services ``item`` names selects its pod template's labels.

    ``selectors`` holds each Service's selector by ``(namespace, name)``; a missing Service or one
    without a selector selects nothing. A ReplicaSet of a Deployment (``manager``) that names no
    Services itself is judged by those its Deployment names: the deployment controller copies a
    Deployment's annotations only onto the ReplicaSets it creates, so one made before the
    annotation was added lacks it.
    """
    named = named_services(item) or (named_services(manager) if manager is not None else [])
    if not named:
        return False
    namespace = item["metadata"].get("namespace", "")
    labels = _template_labels(item)
    for name in named:
        selector = selectors.get((namespace, name)) or {}
        if selector and all(labels.get(key) == value for key, value in selector.items()):
            return False
    return True


def serving(item: Json, selectors: dict[tuple[str, str], Json], manager: Json | None = None) -> tuple[str, ...]:
    """The Services (``"service web"``) of ``item``'s server group, as Spinnaker lists its load balancers:
    those of its namespace whose selector its pod template's labels match, and those it names."""
    namespace = item["metadata"].get("namespace", "")
    labels = _template_labels(item)
    matching = {
        f"service {name}"
        for (where, name), selector in selectors.items()
        if where == namespace and selector and all(labels.get(key) == value for key, value in selector.items())
    }
    named = named_services(item) or (named_services(manager) if manager is not None else [])
    return tuple(sorted(matching | {f"service {name}" for name in named}))


def _template_labels(item: Json) -> Json:
    template = ((item.get("spec") or {}).get("template") or {}).get("metadata") or {}
    labels: Json = template.get("labels") or {}
    return labels
