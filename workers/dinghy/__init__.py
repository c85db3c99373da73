"""Dinghy: pipelines as code. See :mod:`workers.dinghy.worker`."""
