"""Rosco's manifest bakery: ``bakeManifest`` renders Helm charts and kustomizations into one
``embedded/base64`` artifact of Kubernetes manifests (:mod:`.bake`)."""
