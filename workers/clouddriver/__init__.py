"""Clouddriver: cloud operations and the infrastructure cache. See :mod:`workers.clouddriver.worker`."""
