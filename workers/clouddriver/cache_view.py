"""Clouddriver's cache held in memory, each resource's JSON serialised once, so a read costs no database work.

Gate's infrastructure reads (every server group of an application, one server group, an
instance) are answered from this view: indexes by application and by ``(account, region, name)``
point at :class:`Entry` objects that hold the resource's JSON already encoded (secrets hidden by
:func:`schemas.secrets.redact` when it was stored, and a second encoding without ``env`` for those
who may not WRITE the account; a server group also as its listing summary, see
:mod:`workers.clouddriver.server_group_views`). A reply is the parts joined (:func:`joined`), never
a walk over documents; an application's whole listing, once joined, is kept (:meth:`CacheView.answer`)
until a change to one of its resources drops it, so repeating a read is a lookup. The view is built
from what :mod:`workers.clouddriver.cache` stores in MongoDB, which remains the copy every
Clouddriver replica shares and the one a restarted process starts from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import pydantic_core

from schemas.json_types import Json
from schemas.secrets import redact
from workers.clouddriver.server_group_views import expansion, summary

ANSWERS_PER_APPLICATION = 32
"""Joined listings kept per application and kind (one per caller's rights and filters); more clears them."""
HIDDEN_KEYS = ("env",)
"""What a server group's ``launchConfig`` and ``buildInfo`` show only to those who may WRITE its account."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One cached resource: the fields reads select by, its JSON (``shown``: without ``env``) and a digest;
    a server group also its summary (``summary``, ``summary_shown``) and what ``expand=true`` adds."""

    id: str
    kind: str
    account: str
    region: str
    application: str
    name: str
    cluster: str
    provider: str
    created_time: int
    instance_ids: tuple[str, ...]
    image_name: str
    tags: tuple[tuple[str, str], ...]
    json: bytes
    shown: bytes
    digest: str
    summary: bytes = b""
    summary_shown: bytes = b""
    expansion: bytes = b""

    @classmethod
    def of(cls, document: Json, digest: str | None = None) -> Entry:
        """The entry of a cache document (``_id``, the selecting fields and ``json``); ``digest`` is
        :func:`digest_of` its ``json`` when the caller has it already."""
        data = redact(document["json"])
        encoded = pydantic_core.to_json(data)
        plain = without_env(data)
        tags = data.get("tags") if document["kind"] == "image" else None
        group = document["kind"] == "serverGroup"
        brief = pydantic_core.to_json(summary(data)) if group else b""
        return cls(
            id=str(document["_id"]),
            kind=str(document["kind"]),
            account=str(document.get("account", "")),
            region=str(document.get("region", "")),
            application=str(document.get("application") or ""),
            name=str(document.get("name", "")),
            cluster=str(document.get("cluster") or ""),
            provider=str(document.get("provider") or data.get("cloudProvider") or ""),
            created_time=int(document.get("created_time") or 0),
            instance_ids=tuple(str(i) for i in document.get("instance_ids") or ()),
            image_name=str(data.get("imageName", "")),
            tags=tuple(sorted((str(k), str(v)) for k, v in tags.items())) if isinstance(tags, dict) else (),
            json=encoded,
            shown=encoded if plain is data else pydantic_core.to_json(plain),
            digest=digest or digest_of(document["json"]),
            summary=brief,
            summary_shown=brief if plain is data or not group else pydantic_core.to_json(summary(plain)),
            expansion=expansion(data) if group else b"",
        )

    def data(self) -> Json:
        """The resource's JSON decoded (a fresh copy)."""
        decoded: Json = pydantic_core.from_json(self.json)
        return decoded


@dataclass
class CacheView:
    """Every cached resource by id, with the indexes the reads use; ``revisions`` says what it reflects."""

    entries: dict[str, Entry] = field(default_factory=dict)
    by_application: dict[tuple[str, str], dict[str, Entry]] = field(default_factory=dict)
    by_place: dict[tuple[str, str, str, str], dict[str, Entry]] = field(default_factory=dict)
    by_instance: dict[str, dict[str, Entry]] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    """The stored revision of each account this view holds (see :mod:`workers.clouddriver.cache`)."""
    answers: dict[tuple[str, str], dict[Hashable, bytes]] = field(default_factory=dict)
    """Joined listings by ``(kind, application)``, then by what the asker may see and asked for."""

    def digest(self, resource_id: str) -> str | None:
        """The digest of the resource's JSON, or ``None`` if the view holds none by that id."""
        entry = self.entries.get(resource_id)
        return entry.digest if entry else None

    def ids_of(self, account: str) -> set[str]:
        """The ids of the resources held for ``account``."""
        return {entry.id for entry in self.entries.values() if entry.account == account}

    def put(self, entries: Iterable[Entry]) -> None:
        """Add or replace these entries."""
        for entry in entries:
            self.remove([entry.id])
            self.entries[entry.id] = entry
            self.answers.pop((entry.kind, entry.application), None)
            self.by_application.setdefault((entry.kind, entry.application), {})[entry.id] = entry
            self.by_place.setdefault((entry.kind, entry.account, entry.region, entry.name), {})[entry.id] = entry
            for instance in entry.instance_ids:
                self.by_instance.setdefault(instance, {})[entry.id] = entry

    def remove(self, ids: Iterable[str]) -> None:
        """Forget these resources (unknown ids are ignored)."""
        for resource_id in ids:
            entry = self.entries.pop(resource_id, None)
            if entry is None:
                continue
            self.answers.pop((entry.kind, entry.application), None)
            _discard(self.by_application, (entry.kind, entry.application), resource_id)
            _discard(self.by_place, (entry.kind, entry.account, entry.region, entry.name), resource_id)
            for instance in entry.instance_ids:
                _discard(self.by_instance, instance, resource_id)

    def replace_account(self, account: str, entries: Iterable[Entry]) -> None:
        """Hold exactly ``entries`` for ``account``."""
        self.remove(self.ids_of(account))
        self.put(entries)

    def of_application(self, kind: str, application: str) -> list[Entry]:
        """The entries of ``kind`` naming ``application``, sorted by name."""
        return sorted(self.by_application.get((kind, application), {}).values(), key=lambda entry: entry.name)

    def answer(self, kind: str, application: str, key: Hashable, build: Callable[[list[Entry]], bytes]) -> bytes:
        """The listing of ``application``'s entries of ``kind`` that ``key`` names, built by ``build`` over
        :meth:`of_application` the first time and kept until one of those entries changes.

        ``key`` must hold everything ``build`` depends on besides the entries (the asker's rights,
        its filters). Example::

            body = view.answer("serverGroup", "shop", ("summary", rights), lambda found: joined(...))
        """
        kept = self.answers.setdefault((kind, application), {})
        body = kept.get(key)
        if body is None:
            if len(kept) >= ANSWERS_PER_APPLICATION:
                kept.clear()
            body = kept[key] = build(self.of_application(kind, application))
        return body

    def at(self, kind: str, account: str, region: str, name: str) -> list[Entry]:
        """The entries of ``kind`` called ``name`` in ``account`` and ``region`` (zero or one)."""
        return list(self.by_place.get((kind, account, region, name), {}).values())

    def with_instance(self, instance_id: str) -> list[Entry]:
        """The server groups holding instance ``instance_id``."""
        return list(self.by_instance.get(instance_id, {}).values())

    def of_kind(self, kind: str) -> list[Entry]:
        """Every entry of ``kind``."""
        return [entry for entry in self.entries.values() if entry.kind == kind]


def digest_of(data: Json) -> str:
    """A digest of a resource's JSON as its provider described it (before redaction): equal digests,
    nothing to write."""
    return hashlib.blake2b(pydantic_core.to_json(data), digest_size=16).hexdigest()


def joined(parts: Iterable[bytes], key: str = "resources") -> bytes:
    """``{"resources": [part, ...]}`` from parts each already JSON."""
    return b'{"' + key.encode() + b'":[' + b",".join(parts) + b"]}"


def _discard[K](index: dict[K, dict[str, Entry]], key: K, resource_id: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(resource_id, None)
        if not bucket:
            del index[key]


def without_env(resource: Json) -> Json:
    """``resource`` with its ``launchConfig`` and ``buildInfo`` lacking :data:`HIDDEN_KEYS`; itself if none has any."""
    hidden = [
        part
        for part in ("launchConfig", "buildInfo")
        if isinstance(resource.get(part), dict) and any(key in resource[part] for key in HIDDEN_KEYS)
    ]
    if not hidden:
        return resource
    shown = dict(resource)
    for part in hidden:
        shown[part] = {key: item for key, item in resource[part].items() if key not in HIDDEN_KEYS}
    return shown
