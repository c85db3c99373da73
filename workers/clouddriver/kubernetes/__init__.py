"""Clouddriver's ``kubernetes`` cloud provider: manifests applied to a cluster through its API server."""
