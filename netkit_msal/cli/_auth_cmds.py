"""``netkit-msal login | token | accounts | logout``.

Parameters come from, in this order (later wins): azure-identity's environment variables (only when no
``--params`` file is given), the ``--params`` JSON file (4D's parameter object), then flags. A client secret is
never a flag (it would show in the process list): put it in the file or in ``AZURE_CLIENT_SECRET``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: The Redis cache's encryption key comes from the environment: a flag would show in the process list.
REDIS_KEY_VARIABLE = "NETKIT_MSAL_CACHE_KEY"


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("parameters (override --params and the AZURE_* environment variables)")
    group.add_argument("--params", metavar="FILE", help="JSON file holding the 4D parameter object")
    group.add_argument("--client-id", help="app registration's client id (clientId)")
    group.add_argument("--tenant", help="common, organizations, consumers, a tenant id or domain")
    group.add_argument("--authority", help="authority URL or host (national clouds, CIAM, the emulator)")
    group.add_argument("--permission", choices=("signedIn", "service"))
    group.add_argument("--scope", action="append", help="scope; repeat or separate with spaces")
    group.add_argument("--certificate", metavar="FILE", help="PEM (key + certificate) or PFX file (certificateFile)")
    group.add_argument("--ca-file", metavar="FILE", help="extra CA certificate to trust (caFile)")
    group.add_argument("--redirect-uri", help="loopback redirect URI for the browser sign-in (redirectURI)")
    group.add_argument("--username", "--login-hint", dest="login_hint", help="account to use (loginHint)")
    group.add_argument("--device-code", action="store_true", help="sign in with a device code (flow: deviceCode)")
    group.add_argument("--timeout", type=float, help="seconds to wait for a sign-in (timeout)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--cache", metavar="PATH", help="token cache file")
    where.add_argument("--no-cache", action="store_true", help="keep tokens in memory only")
    where.add_argument("--redis", metavar="URL",
                       help=f"share the token cache on Redis (redis://host:6379/0); the encryption key is read "
                            f"from ${REDIS_KEY_VARIABLE}")
    group.add_argument("--redis-prefix", metavar="PREFIX", help="key prefix of this cache on Redis")
    group.add_argument("--allow-unencrypted", action="store_true",
                       help="allow a plaintext owner-only cache file where encryption is unavailable")

    login = subparsers.add_parser("login", parents=[common], help="sign in (or check the cached sign-in)")
    login.set_defaults(func=_login)
    token = subparsers.add_parser("token", parents=[common], help="print an access token")
    token.add_argument("--json", action="store_true", help="print 4D's token object as JSON instead")
    token.set_defaults(func=_token)
    accounts = subparsers.add_parser("accounts", parents=[common], help="list the accounts in the token cache")
    accounts.add_argument("--json", action="store_true", help="print the accounts as JSON")
    accounts.set_defaults(func=_accounts)
    logout = subparsers.add_parser("logout", parents=[common],
                                   help="remove an account from the token cache (default: loginHint's, else all)")
    logout.add_argument("user", nargs="?", help="the account's username (same as --username)")
    logout.set_defaults(func=_logout)


def build_params(args: argparse.Namespace, environ: Any = None) -> dict[str, Any]:
    """The parameter object the flags, the file and the environment describe."""
    from .._sources import params_from_environment, params_from_file

    params = params_from_file(args.params) if args.params else params_from_environment(environ)
    flags = {
        "clientId": args.client_id, "tenant": args.tenant, "authority": args.authority,
        "permission": args.permission, "certificateFile": args.certificate, "caFile": args.ca_file,
        "redirectURI": args.redirect_uri, "loginHint": args.login_hint, "timeout": args.timeout,
        "scope": " ".join(args.scope) if args.scope else None,
        "flow": "deviceCode" if args.device_code else None,
    }
    params.update({key: value for key, value in flags.items() if value is not None})
    if args.no_cache:
        params["cache"] = False
    elif args.redis:
        params["cache"] = _redis_cache(args, environ)
    elif args.cache or args.allow_unencrypted:
        cache = dict(params["cache"]) if isinstance(params.get("cache"), dict) else {}
        if args.cache:
            cache["path"] = args.cache
        if args.allow_unencrypted:
            cache["allowUnencrypted"] = True
        params["cache"] = cache
    return params


def _redis_cache(args: argparse.Namespace, environ: Any) -> dict[str, Any]:
    import os

    from .._exceptions import ConfigError

    key = (os.environ if environ is None else environ).get(REDIS_KEY_VARIABLE)
    if not key:
        raise ConfigError(f"--redis needs the cache's encryption key in ${REDIS_KEY_VARIABLE} (never a flag: it "
                          "would show in the process list)", key="cache.encryptionKey", code=2)
    cache = {"redis": args.redis, "encryptionKey": key}
    if args.redis_prefix:
        cache["prefix"] = args.redis_prefix
    return cache


def _provider(args: argparse.Namespace) -> Any:
    from .._provider import OAuth2Provider

    return OAuth2Provider(build_params(args))


def _login(args: argparse.Namespace) -> int:
    provider = _provider(args)
    token = provider.get_token()
    who = token.username or provider.username or f"app {provider.config.client_id}"
    print(f"Signed in: {who}; token valid until {token['tokenExpiration']}")
    print(f"Token cache: {provider.token_store().description}")
    return 0


def _token(args: argparse.Namespace) -> int:
    token = _provider(args).get_token()
    sys.stdout.write((token.to_json() if args.json else token.access_token) + "\n")
    return 0


def _accounts(args: argparse.Namespace) -> int:
    accounts = _provider(args).accounts()
    if args.json:
        print(json.dumps(accounts, indent=2))
    else:
        for account in accounts:
            print(f"{account['username']}\t{account['tenant_id']}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    provider = _provider(args)
    removed = provider.sign_out(args.user or args.login_hint)
    if provider.config.permission == "service":
        print("Removed the app's tokens from the cache")
    elif removed:
        print("Signed out: " + ", ".join(str(name) for name in removed))
    else:
        print("No account to sign out")
    return 0
