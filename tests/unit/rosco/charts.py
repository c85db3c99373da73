"""Small inputs for Rosco's bakes, made in memory: a Helm chart archive and a kustomization tarball."""

from __future__ import annotations

import base64
import io
import tarfile

from schemas.json_types import Json

CHART_FILES = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 1.2.0\nappVersion: '1.0'\n",
    "values.yaml": "image:\n  repository: acme/shop\n  tag: latest\nreplicas: 1\nport: 8080\n",
    "templates/_helpers.tpl": '{{- define "shop.name" -}}{{ .Release.Name }}-web{{- end -}}\n',
    "templates/NOTES.txt": "Thanks for installing {{ .Release.Name }}\n",
    "templates/deployment.yaml": (
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include "shop.name" . }}\n'
        "  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n"
        "  selector:\n    matchLabels: {app: shop}\n  template:\n    metadata:\n      labels: {app: shop}\n"
        "    spec:\n      containers:\n        - name: web\n"
        '          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
        "          ports: [{containerPort: {{ .Values.port }}}]\n"
        "          env: [{name: REPLICAS_KIND, value: {{ kindOf .Values.replicas | quote }}}]\n"
    ),
    "templates/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
        "  annotations: {deployed-tag: '${trigger.parameters.tag}'}\nspec:\n"
        "  selector: {app: shop}\n  ports: [{port: 80, targetPort: {{ .Values.port }}}]\n"
    ),
}


def tarball(files: dict[str, str], prefix: str = "") -> bytes:
    """A gzipped tar of ``files`` (path → text), each under ``prefix``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{prefix}{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def chart_archive(files: dict[str, str] | None = None) -> bytes:
    """The chart as ``helm package`` lays it out: everything under ``shop/``."""
    return tarball(files or CHART_FILES, prefix="shop/")


def embedded(data: bytes, name: str = "input") -> Json:
    """An ``embedded/base64`` artifact holding ``data``."""
    return {"type": "embedded/base64", "name": name, "reference": base64.b64encode(data).decode()}


KUSTOMIZE_FILES = {
    "deploy/base/kustomization.yaml": (
        "resources:\n- deployment.yaml\nnamePrefix: prod-\ncommonLabels:\n  team: shop\n"
        "images:\n- name: acme/shop\n  newTag: v7\n"
    ),
    "deploy/base/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"
        "  selector:\n    matchLabels: {app: shop}\n  template:\n    metadata:\n      labels: {app: shop}\n"
        "    spec:\n      containers:\n      - name: web\n        image: acme/shop:latest\n"
    ),
}
