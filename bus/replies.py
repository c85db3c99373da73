"""A query's reply on the wire: the envelope body its replier writes, and how the asker reads it.

The replier (:func:`bus.dispatch.dispatch`) writes the reply envelope with :func:`with_data`: the
attributes, then the reply's ``data`` last, spliced in as JSON. The asker reads it whole into the
query's reply model (:func:`reply_or_raise`, what :meth:`bus.Bus.ask` returns) or, to relay it,
as a :class:`RawReply`: its JSON as written (:func:`raw_reply_or_raise`, :meth:`bus.Bus.ask_raw`).

:meth:`bus.Bus.ask` decodes the reply and validates it into the query's reply model: right for a
caller that uses the answer, wasted on one that writes it straight back out (the gateway relaying
Front50's 80 KB pipeline list, or Clouddriver's server groups, to an HTTP client). Decoding and
validating such a reply, then serialising it again, cost the gateway more than everything else
it does for the request. :meth:`bus.Bus.ask_raw` returns a :class:`RawReply` instead: the reply's
type and its ``data`` exactly as the replier serialised it, found without parsing it.

What is still checked: the reply is a CloudEvent naming the query's reply model (an error reply
raises :class:`bus.errors.QueryFailed`, as :meth:`~bus.Bus.ask` does). A reply of an older version
of the model is upcast, validated and serialised again, so :attr:`RawReply.json` is always the
current version's JSON. What is not: the body is not validated against the model; it is the JSON
the replying service produced from a model instance (:func:`with_data`).

Example::

    raw = await bus.ask_raw(ListPipelineConfigs(application="shop"))
    body = raw.field("pipelines")        # b'[{...}, ...]': the list, as Front50 serialised it
    reply = raw.model()                  # or the validated PipelineList, when it is needed after all
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic_core

from bus.envelope import Envelope
from bus.errors import QueryFailed
from schemas import Query, Reply, parse_cloudevent_type, registry

ERROR_REPLY_TYPE = "io.gennaker.system.Error.v1"
"""The type of the reply a query gets when its handler failed (or the query was dead-lettered)."""

TAG = "replytag"
"""The reply's extension attribute naming its data by a digest (replies a service answers from a cache)."""
HELD = "heldtag"
"""The query's extension attribute naming the tag of the reply its asker holds already."""
UNCHANGED = "unchanged"
"""The reply's extension attribute saying its data is the held one's, left out (``data`` is ``{}``)."""

_DATA = b',"data":'
"""Where :func:`with_data` puts the reply's data: last, after every attribute."""


def with_data(attributes: Envelope, data: dict[str, Any] | bytes) -> bytes:
    """``attributes`` (an envelope whose own ``data`` is ignored) as JSON, carrying ``data``."""
    encoded = data if isinstance(data, bytes) else pydantic_core.to_json(data)
    head = attributes.model_dump_json(exclude_none=True, exclude={"data"}).encode()
    return head[:-1] + _DATA + encoded + b"}"


def reply_or_raise(body: bytes, query: Query) -> Reply:
    """Decode a reply envelope's body, once, into the query's reply model; or raise ``QueryFailed``."""
    try:
        envelope = Envelope.model_validate(pydantic_core.from_json(body))
    except ValueError as error:
        raise QueryFailed(f"{query.message_type}: the reply is not a valid CloudEvent: {error}") from None
    if envelope.type == ERROR_REPLY_TYPE:
        raise QueryFailed(
            f"{query.message_type} failed in {envelope.data.get('service')}: {envelope.data.get('error')}"
        )
    model = type(query).reply_model
    name, version = parse_cloudevent_type(envelope.type)
    return model.model_validate(registry.upcast(name, version, envelope.data))


@dataclass(frozen=True, slots=True)
class RawReply:
    """A reply of ``reply_type`` whose ``data`` is ``json``, as the replier serialised it."""

    reply_type: type[Reply]
    json: bytes
    tag: str | None = None
    """The replier's digest of :attr:`json` (from a cache), or ``None``; pass the reply as ``known``
    to the next :meth:`bus.Bus.ask_raw` and an unchanged answer comes back without its data."""

    def model(self) -> Reply:
        """The reply validated into :attr:`reply_type` (what :meth:`bus.Bus.ask` would have returned)."""
        return self.reply_type.model_validate_json(self.json)

    def field(self, name: str) -> bytes:
        """The JSON of the reply's field ``name``: a slice of :attr:`json` when the model has that one
        field only (``{"pipelines":[...]}`` → ``[...]``), else decoded and serialised again."""
        fields = self.reply_type.model_fields
        if name not in fields:
            raise KeyError(f"{self.reply_type.__name__} has no field {name!r}; it has {', '.join(fields)}")
        prefix = b'{"' + name.encode() + b'":'
        if len(fields) == 1 and self.json.startswith(prefix) and self.json.endswith(b"}"):
            return self.json[len(prefix) : -1]
        return pydantic_core.to_json(pydantic_core.from_json(self.json)[name])


def raw_reply_or_raise(body: bytes, query: Query, known: RawReply | None = None) -> RawReply:
    """The reply envelope ``body`` as a :class:`RawReply` to ``query``; or raise ``QueryFailed``.

    A reply saying its data is unchanged from the tag ``known`` holds is answered with ``known``.

    Only the envelope's attributes are decoded. A body not laid out as the services write it, an
    error reply, or a reply of another version than the current one goes through
    :func:`reply_or_raise` (which raises for the error) and is serialised again.
    """
    expected = type(query).reply_model
    split = _split(body)
    if split is not None:
        attributes, data = split
        try:
            name, version = parse_cloudevent_type(attributes.type)
        except ValueError:
            name, version = "", 0
        if name == expected.message_type and version == expected.message_version:
            extensions = attributes.__pydantic_extra__ or {}
            tag = extensions.get(TAG)
            tag = tag if isinstance(tag, str) else None
            if extensions.get(UNCHANGED) is True:
                if known is None or tag is None or known.tag != tag:
                    raise QueryFailed(f"{query.message_type}: the reply says unchanged from a tag not held")
                return known
            return RawReply(expected, data, tag)
    reply = reply_or_raise(body, query)
    return RawReply(type(reply), reply.model_dump_json().encode())


def _split(body: bytes) -> tuple[Envelope, bytes] | None:
    """The envelope's attributes and its data's JSON, or ``None`` when ``body`` is not data-last."""
    at = body.find(_DATA)
    if at < 0 or not body.endswith(b"}"):
        return None
    try:
        head = pydantic_core.from_json(body[:at] + b"}")
    except ValueError:
        return None
    if not isinstance(head, dict) or "data" in head:
        return None
    try:
        return Envelope.model_validate(head), body[at + len(_DATA) : -1]
    except ValueError:
        return None
