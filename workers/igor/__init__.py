"""Igor: the CI and artifact watcher. See :mod:`workers.igor.worker`."""
