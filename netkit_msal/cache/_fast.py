"""A signed-in user's cached access token read straight from the persisted cache file, without MSAL.

Why: a new process that only wants the token it cached earlier (``netkit-msal token`` as a mail client's
passwordeval, a cron script) would spend nearly all its time importing MSAL, requests and cryptography to build
an application whose only work is a dictionary lookup. This module reads the plaintext file the file store
writes (MSAL's own serialization), finds the access token MSAL's ``acquire_token_silent`` would return (same
account choice, same query, same 5-minute margin) and otherwise answers None, so the caller takes MSAL's path.
It answers only what is trivially answerable: a plaintext owner-only file in a private folder, the configured
authority's host and tenant, one account (named by ``loginHint`` or the only one cached), a token that needs no
refresh. Anything else (encrypted storage, several accounts, an expired or aging token, an odd entry, a file we
would not trust) is None.

Also here, because the file store needs them too and must agree: where the file is, its companions, the trust
checks made before it is read, and the shape of its content.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional
from urllib.parse import urlsplit

from .._accounts import find_account, home_id
from .._exceptions import CacheError, NetKitError
from .._paths import default_cache_dir
from .._token import Token
from ._lock import check_private_folder, check_regular_or_missing, open_private
from ._settings import CacheSettings

#: The persisted HTTP cache (discovery documents) beside the token cache file.
HTTP_SUFFIX = ".http.json"
#: MSAL counts an access token with less than this left as expired (``_acquire_token_silent_from_cache...``).
MSAL_EXPIRY_MARGIN = 5 * 60
#: Account kinds MSAL's ``get_accounts`` lists (outside Azure Cloud Shell).
_ACCOUNT_KINDS = ("ADFS", "MSSTS")


def cache_file_path(settings: CacheSettings, name: str, default_folder: Callable[[], str] = default_cache_dir) -> str:
    """The token cache file the settings name: ``path`` (a file, or a folder holding ``<name>.bin``), else
    ``<default folder>/<name>.bin``."""
    path = settings.path or os.path.join(default_folder(), f"{_safe_name(name)}.bin")
    if os.path.isdir(path):
        path = os.path.join(path, f"{_safe_name(name)}.bin")
    return path


def companion_paths(path: str) -> tuple[str, ...]:
    """The token cache file and the files beside it that the store reads or locks."""
    return (path, path + HTTP_SUFFIX, path + ".lock", path + ".refresh.lock")


def check_trusted_place(path: str) -> None:
    """CacheError for a folder others could plant files in, or a companion that is no regular file."""
    check_private_folder(os.path.dirname(path))
    for companion in companion_paths(path):
        check_regular_or_missing(companion)


def parse_cache(text: str) -> Optional[dict[str, Any]]:
    """The cache's JSON if it has MSAL's shape ({type: {key: entry}}), else None."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for entries in data.values():
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            return None
    return data


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return cleaned or "token_cache"


# --- the fast path --------------------------------------------------------------------------------------------

def cached_token(settings: Optional[CacheSettings], *, name: str, client_id: str, authority: str,
                 scopes: Sequence[str], login_hint: Optional[str], offline: bool,
                 account: Optional[Mapping[str, Any]] = None) -> Optional[tuple[Token, dict[str, Any]]]:
    """(token, account) as the provider's silent path would give them from the persisted cache, or None.

    ``account`` is the provider's own account when it knows it already (else ``login_hint``'s, else the only
    cached one). None means: take MSAL's path (it may refresh, sign in, or raise what this declined to judge).
    """
    path = _plaintext_file(settings, name)
    if path is None:
        return None
    try:
        cache = _read(path)
        if cache is None:
            return None
        host, tenant = _authority_parts(authority)
        if host is None:
            return None
        chosen = dict(account) if account is not None else _choose_account(cache, host, login_hint)
        if chosen is None:
            return None
        result = _access_token(cache, scopes, client_id=client_id, environment=host, realm=tenant,
                               home_account_id=chosen.get("home_account_id"))
        if result is None:
            return None
        query = {"home_account_id": chosen.get("home_account_id"), "client_id": client_id}
        id_token = _first_secret(cache, "IdToken", query)
        refresh_token = _first_secret(cache, "RefreshToken", query) if offline else None
        token = Token.from_msal_result(result, scopes=scopes, account=chosen, id_token=id_token,
                                       refresh_token=refresh_token, keep_refresh_token=offline)
    except (CacheError, NetKitError, OSError, ValueError, TypeError, KeyError, AttributeError, UnicodeError):
        return None  # MSAL's path judges (and reports) what this one cannot read plainly
    return token, chosen


def _plaintext_file(settings: Optional[CacheSettings], name: str) -> Optional[str]:
    """The file, when the file store would keep tokens in it as plaintext without a word; else None.

    The store looks for the platform's encrypted storage first: on Linux that is libsecret through PyGObject
    (``gi``); where that is installed the file may be a keyring's signal file (and the store may warn), so this
    declines. ``allowUnencrypted`` must be true: absent, the store warns once; false, it keeps memory only.
    """
    if settings is None or settings.kind != "file" or settings.allow_unencrypted is not True:
        return None
    if sys.platform.startswith(("win", "darwin")):
        return None  # DPAPI, Keychain: encrypted, not readable without the platform's library
    if sys.platform.startswith("linux"):
        import importlib.util

        if importlib.util.find_spec("gi") is not None:
            return None
    if os.environ.get("AZUREPS_HOST_ENVIRONMENT", "").startswith("cloud-shell"):
        return None  # MSAL lists Cloud Shell accounts there too
    return cache_file_path(settings, name)


def _read(path: str) -> Optional[dict[str, Any]]:
    """The parsed file after the store's trust checks, or None (missing, too open, not MSAL's shape)."""
    check_trusted_place(path)
    try:
        with open_private(path, "the token cache") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            data = handle.read()
    except FileNotFoundError:
        return None
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        return None  # the store writes 0600: someone else made or changed this file
    return parse_cache(data.decode("utf-8"))


def _authority_parts(authority: str) -> tuple[Optional[str], str]:
    """(host, tenant) as MSAL's query has them for ``https://host/tenant``; (None, "") for any other shape."""
    parts = urlsplit(authority)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or not parts.hostname or len(segments) != 1 or parts.query or parts.fragment:
        return None, ""
    tenant = segments[0]
    if tenant.lower() == "adfs" or parts.hostname.lower().endswith((".ciamlogin.com", ".b2clogin.com")):
        return None, ""
    return parts.hostname.lower(), tenant


def _choose_account(cache: Mapping[str, Any], environment: str,
                    login_hint: Optional[str]) -> Optional[dict[str, Any]]:
    """The provider's own account as ``get_accounts`` lists it: ``login_hint``'s, else the only one."""
    grouped: dict[Any, dict[str, Any]] = {}
    for entry in cache.get("Account", {}).values():
        if entry.get("environment") != environment or entry["authority_type"] not in _ACCOUNT_KINDS:
            continue
        grouped[entry.get("home_account_id")] = {
            "home_account_id": entry.get("home_account_id"), "environment": entry.get("environment"),
            "username": entry.get("username"), "account_source": entry.get("account_source"),
            "authority_type": entry.get("authority_type"), "local_account_id": entry.get("local_account_id"),
            "realm": entry.get("realm")}
    accounts = list(grouped.values())
    if login_hint:
        return find_account(accounts, login_hint)  # NetKitError for a name in two tenants: MSAL's path says so
    if len({home_id(a) for a in accounts}) != 1:
        return None  # none (MSAL may look under the authority's aliases) or several (the provider asks which)
    return accounts[0]


def _matches(query: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    return all(key in entry and entry[key] == value for key, value in query.items())


def _access_token(cache: Mapping[str, Any], scopes: Sequence[str], *, client_id: str, environment: str,
                  realm: str, home_account_id: Any) -> Optional[dict[str, Any]]:
    """MSAL's cache hit (its result dict) for the query ``acquire_token_silent`` makes, or None.

    Entries are tried in MSAL's order: the one keyed by exactly these scopes, then every entry in the file's
    order whose scopes include them. The first one with 5 minutes left is the answer, unless it is due for a
    proactive refresh (``refresh_on`` passed) or bound to a key: then MSAL would go to the network, and so None.
    """
    tokens: Mapping[str, Any] = cache.get("AccessToken", {})
    query = {"client_id": client_id, "environment": environment, "realm": realm, "home_account_id": home_account_id}
    target = sorted(scopes)
    key = "-".join([home_account_id or "", environment, "AccessToken", client_id, realm, " ".join(target)]).lower()
    candidates: list[Mapping[str, Any]] = []
    preferred = tokens.get(key)
    if preferred is not None and _matches(query, preferred):
        candidates.append(preferred)
    now = time.time()
    wanted = set(target)
    for entry in tokens.values():
        if int(entry["expires_on"]) < int(now) or entry == preferred or "ext_cache_key" in entry:
            continue
        if _matches(query, entry) and wanted <= set(entry.get("target", "").split()):
            candidates.append(entry)
    for entry in candidates:
        expires_in = int(entry["expires_on"]) - now
        if expires_in < MSAL_EXPIRY_MARGIN:
            continue
        if "key_id" in entry or ("refresh_on" in entry and int(entry["refresh_on"]) < now):
            return None
        secret = entry["secret"]
        if not isinstance(secret, str) or not secret:
            return None
        result = {"access_token": secret, "token_type": entry.get("token_type", "Bearer"),
                  "expires_in": int(expires_in), "token_source": "cache"}
        if "refresh_on" in entry:
            result["refresh_on"] = int(entry["refresh_on"])
        return result
    return None


def _first_secret(cache: Mapping[str, Any], kind: str, query: Mapping[str, Any]) -> Any:
    """What ``TokenCache.search(kind, query=...)`` finds first: the provider reads id and refresh tokens so
    (a secret that is no text is refused by Token, and then MSAL's path reports it)."""
    for entry in cache.get(kind, {}).values():
        if _matches(query, entry):
            return entry.get("secret")
    return None
