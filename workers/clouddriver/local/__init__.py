"""The ``local`` provider: server groups are local processes, load balancers local reverse proxies.

See :mod:`workers.clouddriver.local.provider` for the model and the artifact keys, and
:mod:`workers.clouddriver.local.balancer` for the load balancer process.
"""
