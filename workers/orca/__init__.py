"""Orca: the saga coordinator. See :mod:`workers.orca.worker`."""
