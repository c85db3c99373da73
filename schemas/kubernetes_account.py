"""What a ``kubernetes`` account reaches and may touch: Spinnaker's Kubernetes account keys.

Spinnaker's Kubernetes (V2) accounts name a kubeconfig and a context, and scope what Clouddriver
sees and changes by namespace and by kind. Gennaker reads the same keys from the account's
``kubernetes`` table, so an operator's ``clouddriver.yml`` entry moves over key for key.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from schemas.json_types import Json


def kind_key(kind: str) -> str:
    """A kind as Spinnaker compares kinds: case-insensitive, ``deployment`` = ``Deployment``."""
    return kind.strip().lower()


class KubernetesAccountSettings(BaseModel):
    """How Clouddriver reaches one ``kubernetes`` account's cluster and what it may touch there.

    * ``kubeconfigFile``: the kubeconfig to read (default: the client's own, ``~/.kube/config``);
      ``context``: its context to use (default: the kubeconfig's current context).
    * ``namespaces`` / ``omitNamespaces``: the namespaces the account covers, or the ones it never
      covers (at most one of the two; neither means every namespace).
    * ``kinds`` / ``omitKinds``: the same for kinds (``Deployment``, ``configMap``, compared
      case-insensitively, ``kind.group`` for custom resources).

    The table is never shown to clients. Example (TOML)::

        [[accounts]]
        name = "k8s-prod"
        cloudProvider = "kubernetes"
        permissions = { READ = ["dev"], WRITE = ["ops"] }
        kubernetes = { kubeconfigFile = "/etc/gennaker/kubeconfig", context = "prod", namespaces = ["web"] }
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kubeconfig_file: str | None = Field(None, validation_alias=AliasChoices("kubeconfigFile", "kubeconfig_file"))
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    omit_namespaces: tuple[str, ...] = Field((), validation_alias=AliasChoices("omitNamespaces", "omit_namespaces"))
    kinds: tuple[str, ...] = ()
    omit_kinds: tuple[str, ...] = Field((), validation_alias=AliasChoices("omitKinds", "omit_kinds"))

    @model_validator(mode="after")
    def _one_scope_each(self) -> KubernetesAccountSettings:
        if self.namespaces and self.omit_namespaces:
            raise ValueError("kubernetes: give at most one of 'namespaces' and 'omitNamespaces'")
        if self.kinds and self.omit_kinds:
            raise ValueError("kubernetes: give at most one of 'kinds' and 'omitKinds'")
        if self.kubeconfig_file is not None and not self.kubeconfig_file.startswith("/"):
            raise ValueError(f"kubernetes.kubeconfigFile must be an absolute path; got {self.kubeconfig_file!r}")
        return self

    def covers_namespace(self, namespace: str) -> bool:
        """Whether the account may see and change resources in ``namespace``."""
        if self.namespaces:
            return namespace in self.namespaces
        return namespace not in self.omit_namespaces

    def covers_kind(self, kind: str) -> bool:
        """Whether the account may see and change resources of ``kind`` (case-insensitive)."""
        key = kind_key(kind)
        if self.kinds:
            return key in {kind_key(allowed) for allowed in self.kinds}
        return key not in {kind_key(omitted) for omitted in self.omit_kinds}

    def settings(self) -> Json:
        """The table as Clouddriver's Kubernetes provider reads it (Spinnaker's key names)."""
        return {
            "kubeconfigFile": self.kubeconfig_file,
            "context": self.context,
            "namespaces": list(self.namespaces),
            "omitNamespaces": list(self.omit_namespaces),
            "kinds": list(self.kinds),
            "omitKinds": list(self.omit_kinds),
        }
