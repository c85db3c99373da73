"""Front50: the metadata store. See :mod:`workers.front50.worker`."""
