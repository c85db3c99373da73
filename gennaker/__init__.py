"""The ``gennaker`` command line, settings, logging, and the all-in-one runner behind ``gennaker up``."""

__version__ = "0.1.0"
