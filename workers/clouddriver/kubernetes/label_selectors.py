"""Spinnaker's ``labelSelectors`` (a ``deleteManifest`` by label), as a Kubernetes label selector.

The stage context holds ``{"selectors": [{"kind": "EQUALS", "key": "app", "values": ["web"]}]}``
with Clouddriver's kinds: ``EQUALS`` and ``NOT_EQUALS`` (one value), ``CONTAINS`` and
``NOT_CONTAINS`` (``in``/``notin``, at least one value), ``EXISTS`` and ``NOT_EXISTS`` (no value),
and ``ANY`` (no key: matches everything). Every selector must hold, as in ``kubectl -l``.
"""

from __future__ import annotations

from typing import Any

from lightkube import operators

from schemas.json_types import Json
from workers.clouddriver.provider import OperationFailed

Selector = list[tuple[str, operators.Operator[Any]]]
"""What :meth:`~workers.clouddriver.kubernetes.provider.KubernetesProvider.list_kind` takes as ``labels``."""


def _values(index: int, kind: str, item: Json, *, single: bool) -> list[str]:
    values = item.get("values")
    if not isinstance(values, list) or not values or not all(isinstance(value, str) for value in values):
        raise OperationFailed(f"labelSelectors.selectors[{index}]: {kind} needs 'values', a list of strings")
    if single and len(values) != 1:
        raise OperationFailed(f"labelSelectors.selectors[{index}]: {kind} takes exactly one value, not {values}")
    return values


def parse(context: Json) -> Selector:
    """The selector the context's ``labelSelectors`` describe; :class:`OperationFailed` naming a bad
    one, or when none narrows anything (only ``ANY``, or none at all: that would match every object)."""
    raw = context.get("labelSelectors")
    selectors = raw.get("selectors") if isinstance(raw, dict) else None
    if not isinstance(selectors, list):
        raise OperationFailed("labelSelectors needs 'selectors': a list like [{kind: EQUALS, key: app, values: [web]}]")
    found: Selector = []
    for index, item in enumerate(selectors):
        if not isinstance(item, dict):
            raise OperationFailed(f"labelSelectors.selectors[{index}] must be an object with kind, key and values")
        kind = str(item.get("kind") or "").upper()
        if kind == "ANY":
            continue
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise OperationFailed(f"labelSelectors.selectors[{index}]: {kind or 'a selector'} needs a 'key'")
        if kind == "EQUALS":
            found.append((key, operators.equal(_values(index, kind, item, single=True)[0])))
        elif kind == "NOT_EQUALS":
            found.append((key, operators.not_equal(_values(index, kind, item, single=True)[0])))
        elif kind == "CONTAINS":
            found.append((key, operators.in_(_values(index, kind, item, single=False))))
        elif kind == "NOT_CONTAINS":
            found.append((key, operators.not_in(_values(index, kind, item, single=False))))
        elif kind == "EXISTS":
            found.append((key, operators.exists()))
        elif kind == "NOT_EXISTS":
            found.append((key, operators.not_exists()))
        else:
            raise OperationFailed(
                f"labelSelectors.selectors[{index}]: kind {item.get('kind')!r} is not one of ANY, EQUALS, NOT_EQUALS, "
                "CONTAINS, NOT_CONTAINS, EXISTS, NOT_EXISTS"
            )
    if not found:
        raise OperationFailed(
            "labelSelectors must hold at least one selector other than ANY: a delete by label would otherwise "
            "match every object of its kinds"
        )
    return found


def shown(selector: Selector) -> str:
    """The selector as ``kubectl -l`` writes it (``app=web,tier in (a,b)``)."""
    return ",".join(operator.encode(key) for key, operator in selector)
