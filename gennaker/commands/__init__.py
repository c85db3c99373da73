"""One module per ``gennaker`` sub-command; each adds its parser and runs it. See :mod:`gennaker.cli`."""
