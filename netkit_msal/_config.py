"""4D's parameter object, checked once and turned into a frozen :class:`Config`.

Every mistake is reported here, at construction, as a :class:`ConfigError` naming the key (with a close
spelling for a misspelled one) and carrying 4D's error code: 2 missing, 3 bad value, 9 empty, 10 wrong
type, 15 bad PEM. This module holds the keys and the rules between them; the clouds (``_clouds``), scopes
(``_scopes``), files and certificates (``_certificates``) and the ``cache`` parameter (``cache``) have their own.

Decisions where MSAL and 4D differ (also in the README):

- ``PKCEEnabled``/``PKCEMethod``: MSAL always uses PKCE with S256. Both keys are accepted for 4D
  compatibility; ``"plain"`` is accepted and S256 is used anyway (plain protects nothing and Entra ID
  supports S256).
- ``accessType``: MSAL always asks for ``offline_access``, so a refresh token always lands in the token cache
  and silent refresh always works. ``"online"`` (4D's default) keeps it there only; ``"offline"`` also
  exposes it in the returned :class:`Token` (``token["token"]["refresh_token"]``) so it can be saved.
- ``nonce``: MSAL generates and checks its own nonce; a given ``nonce`` is accepted and not used.
- ``openid``, ``profile``, ``offline_access`` in ``scope`` are dropped (MSAL adds them itself);
  ``offline_access`` means ``accessType: "offline"``. A scope of only these means Graph's ``User.Read``.
- ``scope`` may be left out: ``User.Read`` (signedIn) or ``.default`` (service) of the cloud's Graph.
- ``permission`` may be left out: "signedIn" without a credential, "service" with one and no ``redirectURI``.
- ``redirectURI`` may be left out: ``http://localhost`` on a free port (Entra ID accepts any loopback port).
- Choice values (``permission``, ``accessType``, ``prompt``, ``flow``, ...) compare without case, as 4D's
  ``=`` does: ``"SIGNEDIN"`` is ``"signedIn"``; ``"Signed In"`` (a space) is not, in 4D either.
- ``clientSecret`` with a certificate (``privateKey`` or ``certificateFile``): the certificate is used, as in
  4D NetKit, with a ``UserWarning``.
- ``clientAssertionType`` (only the JWT-bearer URN exists) and ``grantType`` (``client_credentials``) are
  accepted and checked; MSAL sends the right ones itself. ``enableDebugLog: true`` logs ``netkit_msal.*`` at
  DEBUG on standard error (records hold no secrets).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from ._certificates import ca_file, certificate_from, is_file, read_file, shown, user_path
from ._clouds import CLOUD_GRAPH, authority_from, graph_from, split_url
from ._debuglog import enable_debug_log
from ._exceptions import BAD_VALUE, EMPTY, MISSING, TOO_LARGE, WRONG_TYPE, ConfigError
from ._managed_identity import ManagedIdentity, managed_identity_from
from ._net import is_loopback_host
from ._scopes import config_scopes
from ._suggest import suggest_key
from .cache import CacheSettings, validate_cache_param

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: A day: beyond that a sign-in wait is a mistake (and ``threading`` waits overflow on infinity).
MAX_TIMEOUT = 86400

PROMPTS = ("none", "consent", "select_account", "login", "create")


#: Every accepted key and the Python types it takes. 4D's keys first, then this package's extensions.
KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "permission": (str,),
    "clientId": (str,),
    "clientSecret": (str,),
    "redirectURI": (str,),
    "tenant": (str,),
    "scope": (str, list, tuple),
    "authenticateURI": (str,),
    "tokenURI": (str,),
    "token": (Mapping, str),
    "tokenExpiration": (str,),
    "timeout": (int, float, str),  # numeric text ("120") is read as a number, as 4D reads it
    "accessType": (str,),
    "loginHint": (str,),
    "prompt": (str,),
    "PKCEEnabled": (bool,),
    "PKCEMethod": (str,),
    "state": (str,),
    "nonce": (str,),
    "browserAutoOpen": (bool,),
    "authenticationPage": (str, Path),
    "authenticationErrorPage": (str, Path),
    "privateKey": (str, bytes),
    "thumbprint": (str,),
    "clientEmail": (str,),
    # extensions
    "authority": (str,),
    "caFile": (str, Path),
    "flow": (str,),
    "cache": (bool, Mapping),
    "certificateFile": (str, Path),
    "certificatePassword": (str, bytes),
    "graphEndpoint": (str,),
    "managedIdentity": (bool, Mapping),
    # read by 4D and accepted for ported objects (module docstring)
    "clientAssertionType": (str,),
    "grantType": (str,),
    "enableDebugLog": (bool,),
}
#: Keys where an empty string is a mistake (code 9). For the others "" means "not given", as in 4D.
_NON_EMPTY = ("name", "permission", "clientId", "tenant", "scope", "authority", "flow", "graphEndpoint")


@dataclass(frozen=True)
class Config:
    """The validated parameter object. Secrets are kept out of ``repr``."""

    permission: str  # "signedIn" | "service"
    client_id: str
    tenant: str
    authority: str  # https URL handed to MSAL, e.g. https://login.microsoftonline.com/common
    scope: tuple[str, ...]  # full resource URIs, reserved OIDC scopes removed
    redirect_uri: str
    authenticate_uri: str
    token_uri: str
    graph_endpoint: str  # Graph base URL without version
    graph_resource: str  # prefix of Graph scopes (token audience)
    timeout: float = 120.0
    offline: bool = False  # accessType "offline": expose the refresh token in Token
    login_hint: Optional[str] = None
    prompt: Optional[str] = None
    state: Optional[str] = None
    browser_auto_open: bool = True
    flow: Optional[str] = None  # "browser" | "deviceCode" | None (decided when the flow runs)
    authentication_page: Optional[str] = None
    authentication_error_page: Optional[str] = None
    ca_file: Optional[str] = None
    cache: Optional[CacheSettings] = None
    instance_discovery: bool = False  # True only for Microsoft's own authority hosts
    thumbprint: Optional[str] = None
    client_secret: Optional[str] = field(default=None, repr=False)
    private_key: Optional[str] = field(default=None, repr=False)
    saved_token: Any = field(default=None, repr=False)  # Token
    managed_identity: Optional[ManagedIdentity] = None  # tokens from the host's managed identity endpoint

    @property
    def confidential(self) -> bool:
        """A secret or certificate is configured: MSAL's ConfidentialClientApplication."""
        return bool(self.client_secret or self.private_key)

    def client_credential(self) -> Any:
        """What MSAL's ``client_credential`` takes: the secret, or the certificate dict."""
        if self.client_secret:
            return self.client_secret
        if self.private_key:
            return {"private_key": self.private_key, "thumbprint": self.thumbprint}
        return None


def parse_config(params: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Config:
    """Check 4D's parameter object (a mapping and/or keyword arguments; keywords win)."""
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(
            f"the parameter object must be a dict, not {type(params).__name__}", key=None, code=WRONG_TYPE
        )
    merged: dict[str, Any] = {**(params or {}), **kwargs}
    _check_keys_and_types(merged)
    raw = {k: v for k, v in merged.items() if v is not None}  # None means "not given"
    # "" for an optional text key means "not given", as in 4D.
    values = {k: v for k, v in raw.items() if not (isinstance(v, str) and v == "" and k not in _NON_EMPTY)}
    for key in _NON_EMPTY:
        if key in values and isinstance(values[key], str) and not values[key].strip():
            raise ConfigError(f"{key} is empty", key=key, code=EMPTY)
    return _build(values)


def _check_keys_and_types(raw: Mapping[str, Any]) -> None:
    for key, value in raw.items():
        if not isinstance(key, str) or key not in KEYS:
            suggestion = suggest_key(str(key), KEYS)
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise ConfigError(f"unknown parameter {key!r}{hint}", key=str(key), suggestion=suggestion, code=BAD_VALUE)
        types = KEYS[key]
        if value is None:
            continue
        # bool is an int: a timeout of True is a mistake, not 1 second.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise ConfigError(
                f"{key} must be {expected}, not {type(value).__name__}", key=key, code=WRONG_TYPE
            )
        if key not in _PATH_KEYS:
            for text in (value if isinstance(value, (list, tuple)) else (value,)):
                if isinstance(text, str) and not _is_unicode(text):
                    raise ConfigError(f"{key} holds characters that are not Unicode text (lone surrogates)",
                                      key=key, code=BAD_VALUE)


#: Keys naming files: a name need not be valid Unicode (``os.fsdecode`` of a Latin-1 name holds surrogates).
_PATH_KEYS = ("caFile", "certificateFile", "authenticationPage", "authenticationErrorPage")


def _is_unicode(text: str) -> bool:
    """False for lone surrogates, which no encoder (form data, JSON, the token cache) accepts later."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_TYPE_NAMES = {str: "text", int: "a number", float: "a number", bool: "a boolean", list: "a list",
               tuple: "a list", Mapping: "an object", Path: "a path", bytes: "bytes"}


def _choice(values: Mapping[str, Any], key: str, choices: tuple[str, ...], default: Optional[str]) -> Optional[str]:
    """A value among ``choices``, compared without case as 4D compares text."""
    value = values.get(key)
    if value is None:
        return default
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise ConfigError(
        f"{key} must be one of {', '.join(repr(c) for c in choices)}, not {value!r}", key=key, code=BAD_VALUE
    )


def _build(v: Mapping[str, Any]) -> Config:
    name = v.get("name", "Microsoft")
    if name.strip().lower() != "microsoft":
        raise ConfigError(
            f"name {name!r} is not supported: netkit-msal signs in with the Microsoft identity platform only "
            f"(name: \"Microsoft\", the default); for Google use 4D NetKit or google-auth",
            key="name", code=BAD_VALUE,
        )
    if "clientEmail" in v:
        raise ConfigError("clientEmail is for Google service accounts, which netkit-msal does not support",
                          key="clientEmail", code=BAD_VALUE)
    managed = managed_identity_from(v)
    if "clientId" not in v and managed is None:
        raise ConfigError("clientId is missing: give your app registration's Application (client) ID",
                          key="clientId", code=MISSING)
    client_id = managed.label if managed is not None else v["clientId"].strip()

    secret = v.get("clientSecret")
    if secret and ("privateKey" in v or "certificateFile" in v):
        which = "certificateFile" if "certificateFile" in v else "privateKey"
        warnings.warn(f"clientSecret and {which} are both given: the certificate is used and clientSecret is "
                      "ignored, as in 4D NetKit; remove one of them", UserWarning, stacklevel=4)
        secret = None
    private_key, thumbprint = certificate_from(v)
    _choice(v, "clientAssertionType", (JWT_BEARER_ASSERTION,), None)  # the only one there is; MSAL sends it
    if _choice(v, "grantType", ("client_credentials", JWT_BEARER_GRANT), None) == JWT_BEARER_GRANT:
        raise ConfigError(f"grantType {JWT_BEARER_GRANT!r} is for Google service accounts, which netkit-msal does "
                          'not support; Microsoft\'s app-only grant is "client_credentials" (the default)',
                          key="grantType", code=BAD_VALUE)
    if v.get("enableDebugLog"):
        enable_debug_log()

    permission = _choice(v, "permission", ("signedIn", "service"), None)
    if permission is None:
        if managed is not None:
            permission = "service"
        elif not (secret or private_key):
            permission = "signedIn"
        elif "redirectURI" not in v:
            permission = "service"
        else:
            raise ConfigError(
                'permission is missing: "service" (app-only token) or "signedIn" (a user signs in to your web app)',
                key="permission", code=MISSING,
            )
    if permission == "service" and not (secret or private_key or managed):
        raise ConfigError(
            "permission \"service\" needs a credential: clientSecret, privateKey + thumbprint, or certificateFile",
            key="clientSecret", code=MISSING,
        )

    tenant, authority = authority_from(v)
    if permission == "service" and not managed and tenant.lower() in ("common", "organizations", "consumers"):
        raise ConfigError(
            f"permission \"service\" needs your tenant id or domain in tenant (or authority), not {tenant!r}",
            key="tenant", code=BAD_VALUE,
        )
    host = (urlsplit(authority).hostname or "").lower()
    graph_endpoint, graph_resource = graph_from(v, host)

    offline = _choice(v, "accessType", ("online", "offline"), "online") == "offline"
    scope, asked_offline = config_scopes(v.get("scope"), graph_resource, permission)
    flow = _choice(v, "flow", ("browser", "deviceCode"), None)
    if flow == "deviceCode" and (permission == "service" or secret or private_key):
        raise ConfigError('flow "deviceCode" is for public clients signing a user in: no secret, no certificate, '
                          'permission "signedIn"', key="flow", code=BAD_VALUE)
    redirect_uri = _redirect_uri(v, permission, flow)
    _choice(v, "PKCEMethod", ("S256", "plain"), "S256")  # checked; MSAL always uses S256 (module docstring)
    try:
        timeout = float(v.get("timeout", 120))
    except ValueError:  # text that is not a number
        timeout = float("nan")
    if not timeout > 0:
        raise ConfigError(f"timeout must be a positive number of seconds, not {v['timeout']!r}",
                          key="timeout", code=BAD_VALUE)
    if timeout > MAX_TIMEOUT:
        raise ConfigError(f"timeout is too large: at most {MAX_TIMEOUT} seconds", key="timeout", code=TOO_LARGE)

    saved = _saved_token(v)
    return Config(
        permission=permission,
        client_id=client_id,
        tenant=tenant,
        authority=authority,
        scope=scope,
        redirect_uri=redirect_uri,
        authenticate_uri=f"{authority}/oauth2/v2.0/authorize",
        token_uri=f"{authority}/oauth2/v2.0/token",
        graph_endpoint=graph_endpoint,
        graph_resource=graph_resource,
        timeout=timeout,
        offline=offline or asked_offline,
        login_hint=v.get("loginHint"),
        prompt=_choice(v, "prompt", PROMPTS, None),
        state=v.get("state"),
        browser_auto_open=v.get("browserAutoOpen", True),
        flow=flow,
        authentication_page=_page(v, "authenticationPage"),
        authentication_error_page=_page(v, "authenticationErrorPage"),
        ca_file=ca_file(v),
        cache=_cache_settings(v),
        instance_discovery=host in CLOUD_GRAPH,
        thumbprint=thumbprint,
        client_secret=secret,
        private_key=private_key,
        saved_token=saved,
        managed_identity=managed,
    )

def _redirect_uri(v: Mapping[str, Any], permission: str, flow: Optional[str]) -> str:
    uri = v.get("redirectURI")
    if uri is None:
        return "http://localhost:0/"  # any free port; Entra ID matches loopback redirect URIs on any port
    parts = split_url(uri.strip(), "redirectURI")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"redirectURI must be an http(s) URL, not {uri!r}", key="redirectURI", code=BAD_VALUE)
    if flow == "browser" and not is_loopback_redirect(uri):
        raise ConfigError(
            f"flow \"browser\" receives the redirect on this machine: redirectURI must be http://localhost or "
            f"http://127.0.0.1 (any port), not {uri!r}; web apps use get_authorization_url()/complete_authorization()",
            key="redirectURI", code=BAD_VALUE,
        )
    return uri.strip()


def is_loopback_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme.lower() == "http" and is_loopback_host(parts.hostname)


def _page(v: Mapping[str, Any], key: str) -> Optional[str]:
    value = v.get(key)
    if value is None:
        return None
    text = str(value)
    if text.lower().startswith(("http://", "https://")):
        split_url(text, key)
        return text
    path = user_path(text, key)
    if not is_file(path, key):
        raise ConfigError(f"{key} must be a URL or an existing file, not {shown(text)}", key=key, code=BAD_VALUE)
    read_file(path, key)  # readable and of a sane size, now rather than when the browser comes back
    return str(path)


def _cache_settings(v: Mapping[str, Any]) -> CacheSettings:
    return validate_cache_param(v.get("cache"))


def _saved_token(v: Mapping[str, Any]) -> Any:
    """4D's ``token`` (a saved Token, its 4D object, or its bare ``token`` part) + ``tokenExpiration``."""
    if "token" not in v:
        if "tokenExpiration" in v:
            raise ConfigError("tokenExpiration is given without token", key="tokenExpiration", code=BAD_VALUE)
        return None
    from ._token import Token

    value = v["token"]
    try:
        token = Token.from_json(value) if isinstance(value, str) else Token.from_4d(value, v.get("tokenExpiration"))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"token cannot be used: {exc}", key="token", code=BAD_VALUE) from None
    except RecursionError:  # JSON (or an object) nested deeper than Python's stack
        raise ConfigError("token cannot be used: it is nested too deeply", key="token", code=BAD_VALUE) from None
    return token
