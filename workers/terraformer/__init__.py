"""Terraformer: Terraform runs. See :mod:`workers.terraformer.worker`."""
