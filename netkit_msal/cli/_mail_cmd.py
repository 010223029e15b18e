"""``netkit-msal mail-check imap|smtp|pop3``: 4D's ``checkConnection()`` from the command line.

Prints ``{"success", "statusText", "errors"}`` as JSON; exit status 0 when the login worked, 1 when not.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._files import check_regular_file, deep_json_refused, parse_json, read_text_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mail-check",
        help="log in to an IMAP, SMTP or POP3 server with OAuth 2.0 and report 4D's {success, statusText, errors}",
        description="Log in with OAuth 2.0 (XOAUTH2 or OAUTHBEARER), log out, print the result as JSON. "
                    "Defaults: Outlook's hosts and ports.",
    )
    parser.add_argument("protocol", choices=("imap", "smtp", "pop3"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--params", metavar="FILE",
                        help="JSON file holding the 4D parameter object: the token comes from a provider")
    source.add_argument("--token-file", metavar="FILE",
                        help="file holding an access token, or a token object as JSON (4D shape)")
    parser.add_argument("--host", help="server host (default: Outlook's for the protocol)")
    parser.add_argument("--port", type=int, help="server port (default: from the protocol and --tls)")
    parser.add_argument("--tls", choices=("implicit", "starttls", "none"),
                        help="implicit TLS, STARTTLS, or none (loopback tests only)")
    parser.add_argument("--user", help="mailbox to log in to (default: the token's user)")
    parser.add_argument("--shared-mailbox", metavar="ADDRESS",
                        help="IMAP/POP3: log in to this shared mailbox with the delegate's token")
    parser.add_argument("--ca-file", help="PEM file of extra CAs to trust (e.g. the emulator's)")
    parser.add_argument("--mechanism", choices=("XOAUTH2", "OAUTHBEARER"), default="XOAUTH2")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")
    parser.set_defaults(func=_mail_check)


def _mail_check(args: argparse.Namespace) -> int:
    from ..mail import check_connection

    options = {name: value for name, value in (
        ("host", args.host), ("tls", args.tls), ("user", args.user),
        ("shared_mailbox", args.shared_mailbox), ("ca_file", args.ca_file),
    ) if value}
    if args.port is not None:  # --port 0 is a mistake to report, not a request for the default
        options["port"] = args.port
    result = check_connection(args.protocol, _source(args), mechanism=args.mechanism,
                              timeout=args.timeout, **options)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if result["success"] else 1


def _source(args: argparse.Namespace) -> Any:
    if args.token_file:
        text = read_text_file(args.token_file, "--token-file").strip()
        return parse_json(text, "--token-file") if text.startswith("{") else text
    from .. import OAuth2Provider
    from .._sources import params_from_file
    from ._auth_cmds import cli_cache, say_if_plaintext

    # A file only, as the other commands: a secret given inline would show in the process list.
    check_regular_file(args.params, "--params")
    with deep_json_refused("--params"):
        params = params_from_file(args.params)
        params["cache"], notice = cli_cache(params.get("cache", True))  # the cache `netkit-msal login` filled
        provider = OAuth2Provider(params)
    if notice:
        say_if_plaintext(provider)
    return provider
