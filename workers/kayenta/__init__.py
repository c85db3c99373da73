"""Kayenta: automated canary analysis. See :mod:`workers.kayenta.worker`."""
