"""``templateRenderer: HELM3`` (and ``HELM2``, rendered alike): Rosco's ``helm template``, through
Helm's own Go engine (the ``helm-python-sdk`` wheel binds Helm v4's SDK offline; no ``helm``
binary, no cluster).

As Rosco builds its command: the release is named ``outputName``, in ``namespace``; the first input
artifact is the chart (a chart archive, or with ``helmChartFilePath`` the chart directory, or its
``Chart.yaml``, inside a tarball or a cloned ``git/repo`` artifact, whose root is the chart when
the path is empty); the others are values files, merged in order over the chart's values; ``overrides``
(``{"image.tag": "v2"}``) go last, as ``--set-string`` (``rawOverrides: true``: ``--set``, so
numbers and booleans keep their types). ``includeCRDs`` puts the chart's CRDs first. Values reach
Helm's engine as JSON, so a number is a ``float64`` to the templates, as values files make it in
``helm template`` (a ``--set`` number there is an ``int64``: ``kindOf`` and numbers of a million or
more print differently).

The output is ``helm template``'s: every rendered manifest as ``---`` / ``# Source: <template>``
in Helm's install order (Namespaces, then ServiceAccounts, Secrets, ConfigMaps… Services, then
workloads), hooks after them (tests included, as ``helm template`` without ``--skip-tests``);
``NOTES.txt`` and partials are not manifests. ``apiVersions`` and ``kubeVersion`` are refused:
this renderer cannot set Helm's capabilities, and rendering as if they were unset would deploy
something other than asked.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from schemas.json_types import Json
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.inputs import MAX_UNPACKED_BYTES, unpack

if TYPE_CHECKING:  # the Helm SDK is imported by a bake that renders a chart, not when Rosco starts
    import helm_python as helm

INSTALL_ORDER = [
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
]
"""Helm's ``InstallOrder``: kinds not listed come after these."""


def merge(base: Json, over: Json) -> Json:
    """``over`` merged into ``base`` as Helm coalesces values: maps deeply, anything else replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def override_values(overrides: Json, *, raw: bool) -> Json:
    """``overrides`` (``{"image.tag": "v2"}``) as Helm reads them from ``--set-string`` (or ``--set``)."""
    if not overrides:
        return {}
    import helm_python as helm

    expression = ",".join(f"{key}={_text(value)}" for key, value in overrides.items())
    try:
        return helm.parse_set_string(expression) if raw else helm.parse_set_string_values(expression)
    except helm.HelmError as error:
        raise BakeFailed(f"overrides do not parse as Helm's --set: {error}") from None


def _values_file(text: bytes, index: int) -> Json:
    try:
        loaded = yaml.safe_load(text.decode())
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise BakeFailed(f"input artifact {index} (a values file) is not YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise BakeFailed(f"input artifact {index} (a values file) is not a map of values")
    return loaded


def _documents(path: str, text: str) -> list[tuple[str, str, Json]]:
    found = []
    for part in text.split("\n---"):
        body = part.strip("\n")
        if body.startswith("---"):
            body = body[3:].lstrip("\n")
        try:
            parsed = yaml.safe_load(body)
        except yaml.YAMLError as error:
            raise BakeFailed(f"template {path} rendered YAML that does not parse: {error}") from None
        if isinstance(parsed, dict):
            found.append((path, body, parsed))
    return found


def _order(kind: Any) -> int:
    return INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)


def _chart_directory(root: Path, chart_path: str, what: str) -> Path:
    """The chart directory ``chart_path`` names under ``root``, once nothing in it leads out of
    ``root`` (a symbolic link from a repository) and it holds at most ``MAX_UNPACKED_BYTES``."""
    top = root.resolve()
    directory = (root / chart_path).resolve()
    if directory.name == "Chart.yaml":
        directory = directory.parent
    if not directory.is_relative_to(top) or not (directory / "Chart.yaml").is_file():
        raise BakeFailed(f"helmChartFilePath {chart_path!r} names no chart in {what}")
    total = 0
    for path in directory.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(top):
            raise BakeFailed(f"{what}: {path.relative_to(top)} links outside it")
        if path.is_file():
            total += path.stat().st_size
            if total > MAX_UNPACKED_BYTES:
                raise BakeFailed(f"the chart in {what} holds more than {MAX_UNPACKED_BYTES} bytes")
    return directory


def _load(chart: bytes | Path, chart_path: str | None, workdir: Path) -> helm.Chart:
    import helm_python as helm

    try:
        if isinstance(chart, Path):
            return helm.Chart.load(_chart_directory(chart, chart_path or ".", "the git/repo input artifact"))
        if not chart_path:
            return helm.Chart.load_archive(chart)
        unpack(chart, workdir, "the chart's input artifact")
        return helm.Chart.load(_chart_directory(workdir, chart_path, "the input artifact"))
    except helm.HelmError as error:
        raise BakeFailed(f"the first input artifact is not a Helm chart: {error}") from None


def check(context: Json) -> str:
    """The release name of the stage ``context``, once what Rosco can know before reading the chart
    is right (a bake from a repository says so before anything is cloned)."""
    for unsupported in ("apiVersions", "kubeVersion"):
        if context.get(unsupported):
            raise BakeFailed(f"{unsupported} is not supported by this Rosco's Helm renderer; remove it from the stage")
    import helm_python as helm

    release = str(context.get("outputName") or "")
    try:
        helm.validate_release_name(release)
    except helm.HelmError as error:
        raise BakeFailed(f"outputName {release!r} is not a Helm release name: {error}") from None
    if not isinstance(context.get("overrides") or {}, dict):
        raise BakeFailed("overrides must be a map of Helm value paths to values")
    return release


def render(context: Json, chart: bytes | Path, values_files: list[bytes]) -> str:
    """The manifests ``helm template`` prints for the stage ``context`` (see the module), of
    ``chart``: the first input artifact's bytes, or the directory its repository was cloned to."""
    release = check(context)
    import helm_python as helm

    values: Json = {}
    for index, text in enumerate(values_files, start=1):
        values = merge(values, _values_file(text, index))
    overrides = context.get("overrides") or {}
    values = merge(values, override_values(overrides, raw=context.get("rawOverrides") is True))
    namespace = str(context.get("namespace") or "default")
    with tempfile.TemporaryDirectory(prefix="rosco-helm-") as workdir:
        loaded = _load(chart, context.get("helmChartFilePath") or None, Path(workdir))
        with loaded:
            try:
                rendered = loaded.render(values, name=release, namespace=namespace, is_install=True)
            except helm.HelmError as error:
                raise BakeFailed(f"helm template failed: {error}") from None
            crds = [(item["name"], item["data"]) for item in loaded.crds] if context.get("includeCRDs") else []
    manifests: list[tuple[str, str, Json]] = []
    for path in sorted(rendered):
        name = path.rsplit("/", 1)[-1]
        if name == "NOTES.txt" or name.startswith("_"):
            continue
        manifests.extend(_documents(path, rendered[path]))
    plain = [
        item for item in manifests if "helm.sh/hook" not in ((item[2].get("metadata") or {}).get("annotations") or {})
    ]
    hooks = [item for item in manifests if item not in plain]
    plain.sort(key=lambda item: _order(item[2].get("kind")))
    out = [f"---\n# Source: {path}\n{data.strip()}\n" for path, data in crds]
    out.extend(f"---\n# Source: {path}\n{body}\n" for path, body, _ in [*plain, *hooks])
    return "".join(out)
