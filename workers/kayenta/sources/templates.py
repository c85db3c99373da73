"""Kayenta's custom filter templates: ``customInlineTemplate`` or a named ``customFilterTemplate``.

A template is text with ``${name}`` variables bound from the scope (``scope``, ``location``,
``resourceType``, ``project``), the query config's own fields of those names, and the scope's
``extendedScopeParams``. An unbound variable is an error naming it, as Kayenta's substitutor
(with undefined-variable errors on) refuses it.
"""

from __future__ import annotations

import re

from schemas.json_types import Json
from workers.kayenta.sources.base import MetricsSourceError, Scope

VARIABLE = re.compile(r"\$\{([^}]*)\}")
BASE_ATTRIBUTES = ("project", "resourceType", "scope", "location")


def template_of(canary_config: Json, query: Json) -> str | None:
    """The template the query names, unexpanded; ``None`` when it names none."""
    if query.get("customFilter"):
        raise MetricsSourceError(
            "CanaryMetricSetQueryConfig.customFilter is deprecated, use customInlineTemplate instead."
        )
    inline = query.get("customInlineTemplate")
    if inline:
        return str(inline)
    named = query.get("customFilterTemplate")
    if not named:
        return None
    templates = canary_config.get("templates") or {}
    if not templates:
        raise MetricsSourceError(f"Custom filter template '{named}' was referenced, but no templates were defined.")
    if named not in templates:
        raise MetricsSourceError(f"Custom filter template '{named}' was not found.")
    return str(templates[named])


def bindings(scope: Scope, query: Json) -> dict[str, str]:
    """The variables a template may use."""
    bound: dict[str, str] = {"scope": scope.scope, "location": scope.location}
    for attribute in BASE_ATTRIBUTES:
        if query.get(attribute):
            bound[attribute] = str(query[attribute])
    return {**bound, **scope.extended}


def expand(template: str, bound: dict[str, str]) -> str:
    """``template`` with every ``${name}`` replaced; an unknown name is a :class:`MetricsSourceError`."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in bound:
            raise MetricsSourceError(
                f"Problem evaluating custom filter template: {template} (variable '{name}' is not defined)"
            )
        return bound[name]

    return VARIABLE.sub(value, template)


def custom_filter(canary_config: Json, query: Json, scope: Scope) -> str | None:
    """The expanded template of ``query``, or ``None``."""
    template = template_of(canary_config, query)
    return None if template is None else expand(template, bindings(scope, query))
