"""Maps type names and versions to message models, and upcasts old versions on receipt.

Every message model is registered once at import time with :func:`message`. A breaking change
adds a new version of the model plus an upcaster from the previous version, so a message written
by an older producer is turned into the current model before any handler sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from schemas.base import Message

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownMessageType(LookupError):
    """No model is registered under this type name (or the version is newer than ours)."""


class MessageRegistry:
    """Type name → current model, plus the upcasters that bring older versions up to it."""

    def __init__(self) -> None:
        self._models: dict[str, type[Message]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register[M: type[Message]](self, model: M) -> M:
        """Register ``model`` as the current version of its type name; returns it unchanged."""
        name = model.message_type
        if not name:
            raise TypeError(f"{model.__name__} has no message_type")
        existing = self._models.get(name)
        if existing is not None and existing is not model and existing.message_version >= model.message_version:
            raise TypeError(f"{name} v{model.message_version} is already registered as {existing.__name__}")
        self._models[name] = model
        return model

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorate a function turning ``name`` data of ``from_version`` into ``from_version + 1``."""

        def decorate(function: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = function
            return function

        return decorate

    def model(self, name: str) -> type[Message]:
        """The current model for ``name``; raises :class:`UnknownMessageType`."""
        try:
            return self._models[name]
        except KeyError:
            raise UnknownMessageType(f"no message type {name!r} is registered") from None

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __iter__(self) -> Iterator[type[Message]]:
        return iter(sorted(self._models.values(), key=lambda model: model.message_type))

    def upcast(self, name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring ``data`` written as ``name`` v``version`` up to the current version's shape."""
        current = self.model(name).message_version
        if version > current:
            raise UnknownMessageType(
                f"{name} v{version} is newer than this service knows (v{current}); upgrade the consumer"
            )
        while version < current:
            step = self._upcasters.get((name, version))
            if step is None:
                raise UnknownMessageType(f"no upcaster from {name} v{version} to v{version + 1}")
            data = step(data)
            version += 1
        return data

    def load(self, name: str, version: int, data: dict[str, Any]) -> Message:
        """Upcast and validate ``data``; raises ``pydantic.ValidationError`` on bad fields."""
        model = self.model(name)
        return model.model_validate(self.upcast(name, version, data))


registry = MessageRegistry()
"""The process-wide registry every service module registers its messages in."""


def message[M: type[Message]](model: M) -> M:
    """Class decorator: register ``model`` in the process-wide :data:`registry`."""
    return registry.register(model)
