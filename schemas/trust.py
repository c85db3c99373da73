"""Which message types only Gennaker's own services may publish, and which outsiders may.

Gennaker's CloudEvents namespace (``io.gennaker.…``) is reserved: every type in it — every model the
registry holds, at any version, and any name a future service registers — is *internal* unless its
model is an :class:`~schemas.base.ExternalEvent`. A service acts on an internal type only when one
of our services published it; from outside it is refused (``POST /events``: 403) or dead-lettered
(the bus's external path). Types outside the namespace (``com.example.build.finished``) are foreign
CloudEvents: outsiders may publish them, and Echo's ``cloudevent`` triggers start pipelines on them.

Nothing here is a list to keep current: the registry and the namespace decide, so a new service's
messages are internal the moment they are registered.
"""

from __future__ import annotations

from schemas.base import CLOUDEVENT_TYPE_PREFIX, Message, parse_cloudevent_type
from schemas.registry import registry
from schemas.services import SERVICES


def is_internal(cloudevent_type: str) -> bool:
    """True when only our services may publish a message of this CloudEvents ``type``.

    Anything in Gennaker's namespace, compared without regard to case, counts — even a name no
    model has, or one that does not parse — so a near miss is never taken for a foreign event.
    """
    if not cloudevent_type.casefold().startswith(CLOUDEVENT_TYPE_PREFIX):
        return False
    try:
        name, _ = parse_cloudevent_type(cloudevent_type)
    except ValueError:
        return True
    return not (name in registry and registry.model(name).published_from_outside)


def is_gennaker_name(name: str) -> bool:
    """True when ``name`` is written as one of our message names (``orca.stage.completed``): its first
    segment is one of our services or the owner of a registered message."""
    owner = name.split(".", 1)[0]
    return owner in SERVICES or any(model.owner() == owner for model in registry)


def internal_models() -> list[type[Message]]:
    """Every registered model only our services may publish, by type name."""
    return [model for model in registry if not model.published_from_outside]


def external_models() -> list[type[Message]]:
    """Every registered model outsiders may publish (each an :class:`~schemas.base.ExternalEvent`)."""
    return [model for model in registry if model.published_from_outside]
