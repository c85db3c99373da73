"""``gennaker completion bash|zsh|fish``: the shell code that completes gennaker's commands and options.

Completion comes from the command line's own argparse tree (through argcomplete), so every
sub-command, option and choice completes as soon as it exists. Load it from your shell's start-up
file:

    bash   ~/.bashrc:                  eval "$(gennaker completion bash)"
    zsh    ~/.zshrc, after compinit:   eval "$(gennaker completion zsh)"
    fish   once:                       gennaker completion fish > ~/.config/fish/completions/gennaker.fish
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gennaker.settings import Settings

SHELLS = ("bash", "zsh", "fish")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``completion`` to the CLI."""
    parser = commands.add_parser(
        "completion",
        parents=[common],
        help="print the shell code for completing gennaker (bash, zsh, fish)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(run=run, needs_settings=False)


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    """Print the shell code; it runs ``gennaker`` itself to find each completion."""
    from argcomplete.shell_integration import shellcode

    print(shellcode(["gennaker"], shell=args.shell), end="")
    return 0
