"""``netkit-msal emulator``: run the local Microsoft 365 emulator until Ctrl-C.

Prints one JSON object (endpoints, CA file, tenant, apps, users, ready parameter objects) on stdout,
so that a script can read it, then serves. Request log lines go to stderr with ``--verbose``.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "emulator", help="run the local Microsoft identity platform and Graph emulator",
        description="Run the local Microsoft 365 emulator (identity platform + Graph) over HTTPS on loopback. "
                    "Prints its endpoints, CA file, tenant, apps, users and ready parameter objects as JSON, "
                    "then serves until Ctrl-C.")
    parser.add_argument("--port", type=_port, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--state-dir", default=None,
                        help="folder for the CA, keys and persisted data (default: $NETKIT_MSAL_EMULATOR_DIR, "
                             "else ~/.cache/netkit-msal/emulator)")
    parser.add_argument("--no-auto-approve", action="store_true",
                        help="show the sign-in and consent pages instead of approving sign-ins automatically")
    parser.add_argument("--token-lifetime", type=int, default=3600, metavar="SECONDS",
                        help="access token lifetime (default: 3600)")
    parser.add_argument("--persist", action="store_true", help="keep Graph data (mail, calendars) across restarts")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")
    parser.set_defaults(func=run)


def _port(text: str) -> int:
    """argparse type: a TCP port number, 0 meaning a free one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535; 0: a free one)")
    return port


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from .._exceptions import ConfigError, PortInUseError
    from ..emulator import Emulator

    if args.token_lifetime < 1:
        raise ConfigError("--token-lifetime must be at least 1 second", key="token-lifetime")
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log = logging.getLogger("netkit_msal.emulator")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        emu = Emulator(args.state_dir, host=args.host, port=args.port, auto_approve=not args.no_auto_approve,
                       token_lifetime=args.token_lifetime, persist=args.persist)
    except (OSError, ValueError) as exc:  # a file where the folder should be, no permission, a NUL
        where = args.state_dir or "the default state folder"
        raise ConfigError(f"--state-dir: cannot use {where!r} as a folder: {getattr(exc, 'strerror', None) or exc}",
                          key="state-dir") from None
    try:
        emu.start()
    except OSError as exc:
        raise PortInUseError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(json.dumps(emu.describe(), indent=2), flush=True)
        print(f"netkit-msal emulator serving {emu.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        if args.host not in ("127.0.0.1", "::1", "localhost"):
            print("warning: listening beyond loopback: anyone who can reach it gets tokens and the admin route",
                  file=sys.stderr, flush=True)
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0
