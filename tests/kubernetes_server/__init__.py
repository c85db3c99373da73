"""A local Kubernetes API server for Clouddriver's tests; see README.md for what it implements."""

from tests.kubernetes_server.server import KubernetesApiServer

__all__ = ["KubernetesApiServer"]
