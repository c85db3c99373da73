"""Which values in Spinnaker JSON are secrets, how they are hidden from readers, and kept on a save.

A pipeline's trigger ``secret`` (the webhook or git signature key), a notification's or sink's
credential (``password``, ``token``, ``apiKey``…) and the ``default`` of a parameter marked
``sensitive`` are needed by the services that use them and by nobody who reads them; so is the text
of a manifest artifact Clouddriver fetched for Orca (``fetchedManifestText``), which may hold a
Secret's data and was fetched with an artifact account its reader may not READ. Every read
the gateway answers, every frame of the event stream and every event Echo forwards to a sink
passes through :func:`redact`, which replaces each such value by :data:`MARKER`.

A client that read a pipeline and saves it back sends the marker where the secret was (Deck and
``spin`` send back what they were given). :func:`restore` puts the stored value back in its place,
so editing a pipeline never erases or replaces a secret its editor never saw; to change a secret,
send the new value. (Spinnaker's Front50 and Gate return these values as stored; here they are
write-only, as secret fields are in Grafana's and Jenkins' APIs.)

Example::

    redact({"triggers": [{"type": "webhook", "secret": "s3cret"}]})
    # {"triggers": [{"type": "webhook", "secret": "**********"}]}
"""

from __future__ import annotations

from typing import Any

import pydantic_core

MARKER = "**********"
"""What a reader sees instead of a secret; sent back on a save, it keeps the stored value."""

SECRET_KEYS = frozenset(
    {
        "secret",
        "password",
        "token",
        "apikey",
        "api_key",
        "applicationkey",
        "application_key",
        "secretaccesskey",
        "secret_access_key",
        "sessiontoken",
        "session_token",
        "smtp_password",
        "webhooksecret",
        "authorization",
        "fetchedmanifesttext",
    }
)
"""Keys (compared lower-cased) whose string values are secrets wherever they appear."""


def _is_secret(key: str, value: Any) -> bool:
    return key.lower() in SECRET_KEYS and isinstance(value, str) and value != ""


def _sensitive_parameters(value: dict[str, Any]) -> set[str]:
    """Parameters this document marks sensitive: in its ``parameterConfig``, or (an execution's
    trigger, which Orca gives the names) in ``sensitiveParameters``."""
    configs = value.get("parameterConfig")
    names = {
        str(config["name"])
        for config in (configs if isinstance(configs, list) else [])
        if isinstance(config, dict) and config.get("sensitive") is True and isinstance(config.get("name"), str)
    }
    listed = value.get("sensitiveParameters")
    return names | ({str(name) for name in listed} if isinstance(listed, list) else set())


def redact(value: Any, *, sensitive: frozenset[str] = frozenset()) -> Any:
    """A copy of ``value`` with every secret replaced by :data:`MARKER`; ``value`` is left unchanged.

    Also hidden: the ``default`` of a ``parameterConfig`` entry with ``sensitive: true`` and the
    values given for such a parameter under ``parameters`` (an execution's trigger names them in
    ``sensitiveParameters``).
    """
    if isinstance(value, list):
        return [redact(item, sensitive=sensitive) for item in value]
    if not isinstance(value, dict):
        return value
    names = sensitive | _sensitive_parameters(value)
    hidden: dict[str, Any] = {}
    for key, item in value.items():
        if _is_secret(str(key), item):
            hidden[key] = MARKER
        elif key == "parameters" and isinstance(item, dict) and names:
            hidden[key] = {
                name: MARKER if name in names and given not in (None, "") else redact(given, sensitive=names)
                for name, given in item.items()
            }
        else:
            hidden[key] = redact(item, sensitive=frozenset(names))
    if value.get("sensitive") is True and value.get("default") not in (None, ""):
        hidden["default"] = MARKER
    return hidden


def markers_in(value: Any, path: str = "") -> list[str]:
    """Where ``value`` holds :data:`MARKER` (``triggers[0].secret``), to name what could not be restored."""
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in markers_in(item, f"{path}[{index}]")]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in markers_in(item, f"{path}.{key}" if path else key)]
    return [path] if value == MARKER else []


def _match(item: dict[str, Any], stored: list[Any], index: int) -> dict[str, Any] | None:
    """The stored counterpart of list entry ``item``: the same ``id`` or ``name``, else same place and type."""
    candidates = [entry for entry in stored if isinstance(entry, dict)]
    for key in ("id", "name"):
        if item.get(key) not in (None, ""):
            for entry in candidates:
                if entry.get(key) == item.get(key):
                    return entry
    if index < len(stored) and isinstance(stored[index], dict) and stored[index].get("type") == item.get("type"):
        return dict(stored[index])
    return None


def restore(given: Any, stored: Any) -> Any:
    """``given`` with each :data:`MARKER` replaced by the value at the same place in ``stored``.

    List entries are paired by ``id`` or ``name`` when they have one, else by position and
    ``type``. A marker without a stored counterpart stays (see :func:`markers_in`).
    """
    if given == MARKER:
        return stored if isinstance(stored, str) and stored != MARKER else given
    if isinstance(given, dict):
        stored_dict = stored if isinstance(stored, dict) else {}
        return {key: restore(item, stored_dict.get(key)) for key, item in given.items()}
    if isinstance(given, list):
        stored_list = stored if isinstance(stored, list) else []
        return [
            restore(item, _match(item, stored_list, index) if isinstance(item, dict) else None)
            for index, item in enumerate(given)
        ]
    return given


_NEEDLES = tuple(f'"{key}"'.encode() for key in (*SECRET_KEYS, "sensitive", "sensitiveparameters"))


def hidden_json(value: Any) -> bytes:
    """``value`` as JSON with every secret hidden: serialised once, and walked by :func:`redact` only
    when its text names a secret's key (most answers name none, and a large list is Deck's most
    frequent read)."""
    text = pydantic_core.to_json(value)
    return pydantic_core.to_json(redact(value)) if _names_a_secret(text) else text


def hidden_json_text(text: bytes) -> bytes:
    """JSON ``text`` with every secret hidden: ``text`` itself when it names no secret's key, else
    decoded, redacted and serialised again."""
    return pydantic_core.to_json(redact(pydantic_core.from_json(text))) if _names_a_secret(text) else text


def _names_a_secret(text: bytes) -> bool:
    lowered = text.lower()
    return any(needle in lowered for needle in _NEEDLES)
