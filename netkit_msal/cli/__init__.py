"""The ``netkit-msal`` command line.

Each group of commands lives in its own module with a ``register(subparsers)`` function that adds
its sub-commands; a sub-command's ``func(args) -> int`` does the work and imports what it needs
lazily, and only the named command's group is registered, so that ``netkit-msal token`` answering from the
cache file imports neither MSAL nor the other commands' modules.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Optional

from .._version import __version__

_COMMAND_MODULES = ("_auth_cmds", "_emulator_cmd", "_mail_cmd", "_demo_cmd")
#: command -> the module that registers it: ``netkit-msal token`` loads only its own group (the others import more).
COMMANDS = {"login": "_auth_cmds", "token": "_auth_cmds", "accounts": "_auth_cmds", "logout": "_auth_cmds",
            "emulator": "_emulator_cmd", "mail-check": "_mail_cmd", "demo": "_demo_cmd"}


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The whole parser, or (``command`` named in COMMANDS) one with only that command's group."""
    parser = argparse.ArgumentParser(
        prog="netkit-msal",
        description="Microsoft identity platform tokens, Graph and mail over OAuth 2.0, from one parameter object.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (COMMANDS[command],) if command in COMMANDS else _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .._exceptions import NetKitError

    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NetKitError as exc:
        print(f"netkit-msal: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
