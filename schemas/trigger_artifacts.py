"""What a webhook's payload brings: the docker pushes that fire ``docker`` triggers and the
artifacts Spinnaker's Echo extracts from docker and git payloads.

The gateway reads a payload with these functions before handing it to Echo, so a malformed one is
a 400 naming the field; Echo reads it again with the same functions to match triggers and bind
artifacts. Each function raises :class:`PayloadInvalid` (``field`` a dotted path into the body).

Docker (``/webhooks/docker/{source}``; ``/webhooks/docker`` is source ``docker``), read by
:func:`docker_pushes`:

* source ``dockerhub``: Docker Hub's webhook (``repository.repo_name``, ``push_data.tag``,
  ``push_data.pusher``, ``callback_url`` as the artifact's ``provenance``): one push to
  ``index.docker.io``;
* source ``quay``: Quay's repository push notification (``docker_url``, ``repository``,
  ``updated_tags``, ``homepage`` as ``provenance``): one push per updated tag;
* source ``dockerregistry``: a registry's notification envelope (``events[]`` with ``action``
  ``push``, ``target.repository``, ``target.tag`` or ``target.digest``, ``target.mediaType`` a
  manifest, ``request.host``): one push per such event; other events are ignored, as Echo does;
* any other source: Spinnaker's docker event content, what Igor sends Echo when it sees a new tag
  (``{account, registry, repository, tag, digest}``).

Each push is one ``docker/image`` artifact: ``name`` = ``registry/repository``, ``version`` = the
tag, ``reference`` = ``name:tag`` (``name@digest`` when a registry notification names no tag).

Git pushes (``/webhooks/git/{source}``), read by :func:`git_file_artifacts`, as Echo's
extractors: one artifact per file added or modified by the push's commits, ``version`` the commit
it was pushed at (``after``): ``github/file`` with ``reference`` the repository's contents API
(``repository.contents_url``), ``gitlab/file`` with ``reference`` the project's files API
(``{homepage's host}/api/v4/projects/{path}/repository/files/{file}/raw``). Bitbucket's pushes
name no files: no artifacts.

A payload that carries its own ``artifacts`` keeps them (Echo extracts only when there are none):
at most :data:`MAX_PAYLOAD_ARTIFACTS`, each one's ``type``, ``name``, ``version``, ``location``,
``reference`` and ``artifactAccount`` a string when given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from schemas.json_types import Json
from schemas.limits import name_problem

MAX_PAYLOAD_ARTIFACTS = 1000
"""The most artifacts one payload may bring (files a push touched, images a notification names)."""
DOCKER_HUB = "index.docker.io"
MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
"""Media types of a pushed image (Echo reads the two Docker manifest ones; Gennaker also OCI's and lists)."""

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
REGISTRY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")
DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Fa-f0-9]{32,128}")
MAX_REPOSITORY = 255


class PayloadInvalid(ValueError):
    """A payload field that cannot be read: ``field`` names it (dotted), the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DockerPush:
    """One image pushed: where, which repository, which tag (and digest), and for which account."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None = None
    account: str | None = None
    provenance: str | None = None
    """Where the push was announced (Docker Hub's callback, Quay's repository page)."""

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def artifact(self, metadata: Json | None = None) -> Json:
        """The ``docker/image`` artifact of this push."""
        version = self.tag or self.digest or ""
        separator = ":" if self.tag else "@"
        found: Json = {"type": "docker/image", "name": self.name, "version": version}
        found["reference"] = f"{self.name}{separator}{version}"
        if metadata:
            found["metadata"] = metadata
        if self.provenance:
            found["provenance"] = self.provenance
        return found


def _at(payload: Any, path: str) -> Any:
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text(payload: Any, path: str, where: str, pattern: re.Pattern[str] | None, *, required: bool) -> str | None:
    value = _at(payload, path)
    field = f"{where}{path}"
    if value is None or value == "":
        if required:
            raise PayloadInvalid(field, "is required")
        return None
    if not isinstance(value, str):
        raise PayloadInvalid(field, f"must be a string, not {type(value).__name__}")
    if pattern is not None and (len(value) > MAX_REPOSITORY or pattern.fullmatch(value) is None):
        raise PayloadInvalid(field, f"{value[:300]!r} is not a valid {path.rsplit('.', 1)[-1]}")
    return value


def _account(payload: Json) -> str | None:
    account = _text(payload, "account", "", None, required=False)
    problem = name_problem(account) if account is not None else None
    if problem is not None:
        raise PayloadInvalid("account", f"the account name {problem}")
    return account


def docker_pushes(source: str, payload: Json) -> list[DockerPush]:
    """The pushes ``payload`` (sent to ``/webhooks/docker/{source}``) announces; see the module."""
    if source == "dockerhub":
        repository = _text(payload, "repository.repo_name", "", REPOSITORY, required=True)
        tag = _text(payload, "push_data.tag", "", TAG, required=True)
        return [DockerPush(DOCKER_HUB, str(repository), tag, provenance=_provenance(payload, "callback_url"))]
    if source == "dockerregistry":
        return _registry_pushes(payload)
    if source == "quay":
        return _quay_pushes(payload)
    repository = _text(payload, "repository", "", REPOSITORY, required=True)
    tag = _text(payload, "tag", "", TAG, required=True)
    registry = _text(payload, "registry", "", REGISTRY, required=False)
    digest = _text(payload, "digest", "", DIGEST, required=False)
    account = _account(payload)
    if account is None and registry is None:
        raise PayloadInvalid("account", "is required (or registry): a docker trigger is matched by either")
    return [DockerPush(registry or "", str(repository), tag, digest, account)]


def _registry_pushes(payload: Json) -> list[DockerPush]:
    events = payload.get("events")
    if not isinstance(events, list):
        raise PayloadInvalid("events", "must be a list of registry events")
    pushes: list[DockerPush] = []
    for n, event in enumerate(events):
        where = f"events[{n}]."
        if not isinstance(event, dict):
            raise PayloadInvalid(f"events[{n}]", "must be an object")
        target = event.get("target")
        if event.get("action") != "push" or not isinstance(target, dict):
            continue
        if target.get("mediaType") not in MANIFEST_MEDIA_TYPES:
            continue  # a layer (blob) push: not an image
        repository = _text(event, "target.repository", where, REPOSITORY, required=True)
        tag = _text(event, "target.tag", where, TAG, required=False)
        digest = _text(event, "target.digest", where, DIGEST, required=tag is None)
        host = _text(event, "request.host", where, REGISTRY, required=False)
        pushes.append(DockerPush(host or "", str(repository), tag, digest))
    if len(pushes) > MAX_PAYLOAD_ARTIFACTS:
        raise PayloadInvalid("events", f"names {len(pushes)} pushed images; the limit is {MAX_PAYLOAD_ARTIFACTS}")
    return pushes


def _quay_pushes(payload: Json) -> list[DockerPush]:
    url = str(_text(payload, "docker_url", "", None, required=True))
    registry, _, path = url.partition("/")
    if REGISTRY.fullmatch(registry) is None or REPOSITORY.fullmatch(path) is None:
        raise PayloadInvalid("docker_url", f"{url[:300]!r} is not a registry host and repository")
    repository = _text(payload, "repository", "", REPOSITORY, required=True)
    if repository != path:
        raise PayloadInvalid("repository", f"{repository!r} is not the repository docker_url {url!r} names")
    tags = payload.get("updated_tags")
    if not isinstance(tags, list) or not tags:
        raise PayloadInvalid("updated_tags", "must be a non-empty list of tags")
    if len(tags) > MAX_PAYLOAD_ARTIFACTS:
        raise PayloadInvalid("updated_tags", f"names {len(tags)} tags; the limit is {MAX_PAYLOAD_ARTIFACTS}")
    for n, tag in enumerate(tags):
        if not isinstance(tag, str) or TAG.fullmatch(tag) is None:
            raise PayloadInvalid(f"updated_tags[{n}]", f"{str(tag)[:300]!r} is not a valid tag")
    return [DockerPush(registry, path, tag, provenance=_provenance(payload, "homepage")) for tag in tags]


def docker_artifacts(source: str, payload: Json) -> list[Json]:
    """The ``docker/image`` artifacts a Docker Hub, Quay or registry webhook brings (sources
    ``dockerhub``, ``quay`` and ``dockerregistry``, whatever the path's type; Echo extracts them for
    webhook triggers too)."""
    if source not in ("dockerhub", "quay", "dockerregistry"):
        return []
    pushes = docker_pushes(source, payload)
    if source == "dockerhub":
        pusher = _at(payload, "push_data.pusher")
        return [pushes[0].artifact({"pusher": pusher if isinstance(pusher, str) else ""})]
    return [push.artifact() for push in pushes]


def _provenance(payload: Json, key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _files(payload: Json) -> list[str]:
    commits = payload.get("commits")
    if commits is None:
        return []
    if not isinstance(commits, list):
        raise PayloadInvalid("commits", "must be a list of commits")
    files: dict[str, None] = {}
    for n, commit in enumerate(commits):
        if not isinstance(commit, dict):
            raise PayloadInvalid(f"commits[{n}]", "must be an object")
        for kind in ("added", "modified"):
            names = commit.get(kind)
            if names is None:
                continue
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise PayloadInvalid(f"commits[{n}].{kind}", "must be a list of file paths")
            files.update(dict.fromkeys(names))
    if len(files) > MAX_PAYLOAD_ARTIFACTS:
        raise PayloadInvalid(
            "commits", f"add or modify {len(files)} files; at most {MAX_PAYLOAD_ARTIFACTS} are bound as artifacts"
        )
    return list(files)


def git_file_artifacts(source: str, payload: Json) -> list[Json]:
    """The file artifacts of a ``github`` or ``gitlab`` push (none for other sources); see the module."""
    if source not in ("github", "gitlab"):
        return []
    files = _files(payload)
    if not files:
        return []
    sha = _text(payload, "after", "", None, required=True)
    if source == "github":
        contents = str(_text(payload, "repository.contents_url", "", None, required=True))
        return [
            {"type": "github/file", "name": name, "version": sha, "reference": contents.replace("{+path}", name)}
            for name in files
        ]
    homepage = str(_text(payload, "project.homepage", "", None, required=True))
    path = str(_text(payload, "project.path_with_namespace", "", None, required=True))
    files_api = f"{homepage.replace('/' + path, '')}/api/v4/projects/{quote_plus(path)}/repository/files"
    return [
        {"type": "gitlab/file", "name": name, "version": sha, "reference": f"{files_api}/{quote_plus(name)}/raw"}
        for name in files
    ]


ARTIFACT_TEXT_FIELDS = ("type", "name", "version", "location", "reference", "artifactAccount")


def _sent_artifacts(sent: list[Any]) -> list[Json]:
    """The objects of a payload's own ``artifacts`` (anything else is skipped, as Echo's model
    skips what it cannot read), each field Spinnaker reads a string."""
    found = [item for item in sent if isinstance(item, dict)]
    if len(found) > MAX_PAYLOAD_ARTIFACTS:
        raise PayloadInvalid("artifacts", f"holds {len(found)} artifacts; the limit is {MAX_PAYLOAD_ARTIFACTS}")
    for n, item in enumerate(sent):
        if not isinstance(item, dict):
            continue
        for key in ARTIFACT_TEXT_FIELDS:
            if item.get(key) is not None and not isinstance(item[key], str):
                raise PayloadInvalid(f"artifacts[{n}].{key}", f"must be a string, not {type(item[key]).__name__}")
    return found


def payload_artifacts(kind: str, source: str, payload: Json) -> list[Json]:
    """The artifacts a webhook to ``/webhooks/{kind}/{source}`` binds: the payload's own
    ``artifacts`` (objects only) when it has any, else those extracted from it."""
    sent = payload.get("artifacts")
    if isinstance(sent, list) and sent:
        return _sent_artifacts(sent)
    if kind == "git":
        return git_file_artifacts(source, payload)
    return docker_artifacts(source, payload)


def check_payload(kind: str, source: str, payload: Json) -> None:
    """Raise :class:`PayloadInvalid` for a payload Echo could not read (what the gateway asks first)."""
    if kind == "docker":
        docker_pushes(source, payload)
    payload_artifacts(kind, source, payload)
