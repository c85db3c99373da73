"""Rosco: the image bakery. See :mod:`workers.rosco.worker`."""
