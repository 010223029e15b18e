"""The ``netkit-msal`` command line.

Each group of commands lives in its own module with a ``register(subparsers)`` function that adds
its sub-commands; a sub-command's ``func(args) -> int`` does the work and imports what it needs
lazily, so that ``netkit-msal token`` starts as fast as ``import msal``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Optional

from .._version import __version__

_COMMAND_MODULES = ("_auth_cmds", "_emulator_cmd", "_mail_cmd", "_demo_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netkit-msal",
        description="Microsoft identity platform tokens, Graph and mail over OAuth 2.0, from one parameter object.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .._exceptions import NetKitError

    parser = build_parser()
    args = parser.parse_args(argv)
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
