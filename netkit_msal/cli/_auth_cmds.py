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

from ._files import check_regular_file, deep_json_refused

#: The Redis cache's encryption key comes from the environment: a flag would show in the process list.
REDIS_KEY_VARIABLE = "NETKIT_MSAL_CACHE_KEY"


def register(subparsers: Any) -> None:
    app = argparse.ArgumentParser(add_help=False)
    group = app.add_argument_group("parameters (override --params and the AZURE_* environment variables)")
    group.add_argument("--params", metavar="FILE", help="JSON file holding the 4D parameter object")
    group.add_argument("--client-id", help="app registration's client id (clientId)")
    group.add_argument("--tenant", help="common, organizations, consumers, a tenant id or domain")
    group.add_argument("--authority", help="authority URL or host (national clouds, CIAM, the emulator)")
    group.add_argument("--permission", choices=("signedIn", "service"))
    group.add_argument("--certificate", metavar="FILE", help="PEM (key + certificate) or PFX file (certificateFile)")
    group.add_argument("--ca-file", metavar="FILE", help="extra CA certificate to trust (caFile)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--cache", metavar="PATH", help="token cache file")
    where.add_argument("--no-cache", action="store_true", help="keep tokens in memory only")
    where.add_argument("--redis", metavar="URL",
                       help=f"share the token cache on Redis (redis://host:6379/0); the encryption key is read "
                            f"from ${REDIS_KEY_VARIABLE}")
    group.add_argument("--redis-prefix", metavar="PREFIX", help="key prefix of this cache on Redis")
    group.add_argument("--allow-unencrypted", action="store_true",
                       help="where no keyring exists, keep the cache in a plain owner-only file without a notice")
    signin = argparse.ArgumentParser(add_help=False)
    group = signin.add_argument_group("sign-in")
    group.add_argument("--scope", action="append", help="scope; repeat or separate with spaces")
    group.add_argument("--redirect-uri", help="loopback redirect URI for the browser sign-in (redirectURI)")
    group.add_argument("--username", "--login-hint", dest="login_hint", help="account to use (loginHint)")
    group.add_argument("--device-code", action="store_true", help="sign in with a device code (flow: deviceCode)")
    group.add_argument("--timeout", type=float, help="seconds to wait for a sign-in (timeout)")

    login = subparsers.add_parser("login", parents=[app, signin], help="sign in (or check the cached sign-in)",
                                  description="Sign in (browser or device code) unless the token cache already "
                                              "holds a valid sign-in, and say who is signed in and where the "
                                              "tokens are kept.")
    login.set_defaults(func=_login)
    token = subparsers.add_parser("token", parents=[app, signin], help="print an access token",
                                  description="Print an access token on stdout (for passwordeval, PassCmd, "
                                              "scripts): from the token cache, refreshed if needed, else after "
                                              "a sign-in.")
    token.add_argument("--json", action="store_true", help="print 4D's token object as JSON instead")
    token.add_argument("--non-interactive", action="store_true",
                       help="never sign in: exit 1 at once when the cache cannot give a token (cron, mail clients)")
    token.set_defaults(func=_token)
    accounts = subparsers.add_parser("accounts", parents=[app], help="list the accounts in the token cache",
                                     description="List this app's signed-in accounts found in the token cache "
                                                 "(username and tenant), without any request.")
    accounts.add_argument("--json", action="store_true", help="print the accounts as JSON")
    accounts.set_defaults(func=_accounts)
    logout = subparsers.add_parser("logout", parents=[app],
                                   help="remove an account from the token cache (default: loginHint's, else all)",
                                   description="Remove an account's tokens from the token cache (default: "
                                               "loginHint's, else every account of this app). Exits 1 when the "
                                               "named account is not in the cache.")
    logout.add_argument("user", nargs="?", help="the account's username (same as --username)")
    logout.add_argument("--username", "--login-hint", dest="login_hint", help="the account's username")
    logout.set_defaults(func=_logout)


def build_params(args: argparse.Namespace, environ: Any = None) -> dict[str, Any]:
    """The parameter object the flags, the file and the environment describe."""
    return _params_and_notice(args, environ)[0]


def _params_and_notice(args: argparse.Namespace, environ: Any = None) -> tuple[dict[str, Any], bool]:
    """The parameter object, and whether the CLI chose a plaintext file cache for want of a keyring (to say so)."""
    from .._exceptions import ConfigError
    from .._sources import params_from_environment, params_from_file

    if args.redis_prefix and not args.redis:
        raise ConfigError("--redis-prefix goes with --redis", key="redis-prefix")
    if args.allow_unencrypted and (args.no_cache or args.redis):
        raise ConfigError("--allow-unencrypted is for a file cache, not with --no-cache or --redis",
                          key="allow-unencrypted")
    if args.params:
        check_regular_file(args.params, "--params")
        with deep_json_refused("--params"):
            params = params_from_file(args.params)
    else:
        params = params_from_environment(environ)
    flags = {
        "clientId": args.client_id, "tenant": args.tenant, "authority": args.authority,
        "permission": args.permission, "certificateFile": args.certificate, "caFile": args.ca_file,
        "redirectURI": getattr(args, "redirect_uri", None), "loginHint": getattr(args, "login_hint", None),
        "timeout": getattr(args, "timeout", None),
        "scope": " ".join(args.scope) if getattr(args, "scope", None) else None,
        "flow": "deviceCode" if getattr(args, "device_code", False) else None,
    }
    params.update({key: value for key, value in flags.items() if value is not None})
    if args.no_cache:
        params["cache"] = False
        return params, False
    if args.redis:
        params["cache"] = _redis_cache(args, environ)
        return params, False
    params["cache"], notice = cli_cache(params.get("cache", True), path=args.cache, allow=args.allow_unencrypted)
    return params, notice


def cli_cache(cache: Any, *, path: Any = None, allow: bool = False) -> tuple[Any, bool]:
    """The Azure CLI's convention: where no keyring exists, an owner-only file rather than a sign-in every run.

    Returns the ``cache`` parameter to use, and whether the CLI made that choice for the user (to say so).
    """
    if cache is None or cache is True:
        cache = {}
    if not isinstance(cache, dict) or any(key in cache for key in ("redis", "prefix", "encryptionKey")):
        return cache, False  # memory only, Redis, or a mistake the provider reports
    cache = dict(cache)
    if path:
        cache["path"] = path
    if allow:
        cache["allowUnencrypted"] = True
    notice = "allowUnencrypted" not in cache
    cache.setdefault("allowUnencrypted", True)
    return cache, notice


def say_if_plaintext(provider: Any) -> None:
    """Once, when the plain file is about to be created: where the tokens go, and the two ways to choose."""
    import os

    from .._provider import CACHE_NAME
    from ..cache._fast import cache_file_path

    settings = provider.config.cache
    if settings is not None and settings.kind == "file" and os.path.exists(cache_file_path(settings, CACHE_NAME)):
        return  # said when it was created (and opening the store would load MSAL for nothing)
    store = provider.token_store()
    if store.persistent and not store.encrypted and not os.path.exists(store.location):
        print(f"netkit-msal: no keyring is available here, so tokens are kept in a plain file that only you can "
              f"read: {store.location}. Pass --allow-unencrypted to accept this without this notice, or "
              f"--no-cache to keep tokens in memory only (and sign in every time).", file=sys.stderr)


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

    params, notice = _params_and_notice(args)
    with deep_json_refused("--params"):  # a saved "token" is JSON text too
        provider = OAuth2Provider(params)
    if notice:
        say_if_plaintext(provider)
    return provider


def _login(args: argparse.Namespace) -> int:
    provider = _provider(args)
    token = provider.get_token()
    who = token.username or provider.username or f"app {provider.config.client_id}"
    print(f"Signed in: {who}; token valid until {token['tokenExpiration']}")
    print(f"Token cache: {provider.token_store().description}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from .._exceptions import InteractionRequiredError

    provider = _provider(args)
    try:
        token = provider.get_token(interactive=not args.non_interactive)
    except InteractionRequiredError:
        if not args.non_interactive:
            raise
        raise InteractionRequiredError("a sign-in is needed and --non-interactive was given: run "
                                       "`netkit-msal login` first", error="interaction_required") from None
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
    elif args.user or args.login_hint or provider.config.login_hint:
        name = args.user or args.login_hint or provider.config.login_hint
        print(f"netkit-msal: error: no account {name!r} in the token cache", file=sys.stderr)
        return 1
    else:
        print("No account to sign out")
    return 0
