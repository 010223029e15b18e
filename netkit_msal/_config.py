"""4D's parameter object, checked once and turned into a frozen :class:`Config`.

Every mistake is reported here, at construction, as a :class:`ConfigError` naming the key (with a close
spelling for a misspelled one) and carrying 4D's error code: 2 missing, 3 bad value, 9 empty, 10 wrong
type, 15 bad PEM. Nothing in this module does I/O except reading a certificate file named by the user.

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
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional
from urllib.parse import SplitResult, urlsplit

from ._exceptions import ConfigError

if TYPE_CHECKING:
    from ._cache import CacheSettings

MISSING, BAD_VALUE, EMPTY, WRONG_TYPE, TOO_LARGE, BAD_PEM = 2, 3, 9, 10, 13, 15
#: A day: beyond that a sign-in wait is a mistake (and ``threading`` waits overflow on infinity).
MAX_TIMEOUT = 86400

GLOBAL_AUTHORITY_HOST = "login.microsoftonline.com"
GLOBAL_GRAPH = "https://graph.microsoft.com"
#: Microsoft's identity hosts (instance discovery is left to MSAL for these) and each cloud's Graph.
CLOUD_GRAPH = {
    "login.microsoftonline.com": GLOBAL_GRAPH,
    "login.microsoft.com": GLOBAL_GRAPH,
    "login.windows.net": GLOBAL_GRAPH,
    "sts.windows.net": GLOBAL_GRAPH,
    "login.microsoftonline.us": "https://graph.microsoft.us",
    "login.usgovcloudapi.net": "https://graph.microsoft.us",
    "login.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn",
    "login.partner.microsoftonline.cn": "https://microsoftgraph.chinacloudapi.cn",
}
_GRAPH_HOSTS = {urlsplit(url).hostname for url in CLOUD_GRAPH.values()} | {"dod-graph.microsoft.us"}

RESERVED_SCOPES = ("openid", "profile", "offline_access")
PROMPTS = ("none", "consent", "select_account", "login", "create")
_OIDC_ONLY = ("email",)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")

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
    cache: Optional["CacheSettings"] = None
    instance_discovery: bool = False  # True only for Microsoft's own authority hosts
    thumbprint: Optional[str] = None
    client_secret: Optional[str] = field(default=None, repr=False)
    private_key: Optional[str] = field(default=None, repr=False)
    saved_token: Any = field(default=None, repr=False)  # Token

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


_TYPE_NAMES = {str: "text", int: "a number", float: "a number", bool: "a boolean", list: "a list",
               tuple: "a list", Mapping: "an object", Path: "a path", bytes: "bytes"}


def suggest_key(key: str, known: Any) -> Optional[str]:
    """The known key closest to ``key`` (case and ``_``/``-`` ignored first, then difflib), or None."""
    squashed = re.sub(r"[_\-\s]", "", key).lower()
    for candidate in known:
        if candidate.lower() == squashed:
            return candidate
    lowered = {candidate.lower(): candidate for candidate in known}
    match = difflib.get_close_matches(squashed, list(lowered), n=1, cutoff=0.7)
    return lowered[match[0]] if match else None


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
    if "clientId" not in v:
        raise ConfigError("clientId is missing: give your app registration's Application (client) ID",
                          key="clientId", code=MISSING)
    client_id = v["clientId"].strip()

    secret = v.get("clientSecret")
    if secret and ("privateKey" in v or "certificateFile" in v):
        which = "certificateFile" if "certificateFile" in v else "privateKey"
        raise ConfigError(f"clientSecret and {which} are both given: use one credential", key=which, code=BAD_VALUE)
    private_key, thumbprint = _certificate(v)

    permission = _choice(v, "permission", ("signedIn", "service"), None)
    if permission is None:
        if not (secret or private_key):
            permission = "signedIn"
        elif "redirectURI" not in v:
            permission = "service"
        else:
            raise ConfigError(
                'permission is missing: "service" (app-only token) or "signedIn" (a user signs in to your web app)',
                key="permission", code=MISSING,
            )
    if permission == "service" and not (secret or private_key):
        raise ConfigError(
            "permission \"service\" needs a credential: clientSecret, privateKey + thumbprint, or certificateFile",
            key="clientSecret", code=MISSING,
        )

    tenant, authority = _authority(v)
    if permission == "service" and tenant.lower() in ("common", "organizations", "consumers"):
        raise ConfigError(
            f"permission \"service\" needs your tenant id or domain in tenant (or authority), not {tenant!r}",
            key="tenant", code=BAD_VALUE,
        )
    host = (urlsplit(authority).hostname or "").lower()
    graph_endpoint, graph_resource = _graph(v, host)

    offline = _choice(v, "accessType", ("online", "offline"), "online") == "offline"
    scope, asked_offline = _scopes(v.get("scope"), graph_resource, permission)
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
        ca_file=_ca_file(v),
        cache=_cache_settings(v),
        instance_discovery=host in CLOUD_GRAPH,
        thumbprint=thumbprint,
        client_secret=secret,
        private_key=private_key,
        saved_token=saved,
    )


def _split(url: str, key: str) -> SplitResult:
    """``urlsplit`` with its errors (bad IPv6 literal, bad port) as ConfigError."""
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as exc:
        raise ConfigError(f"{key} is not a valid URL ({exc}): {url!r}", key=key, code=BAD_VALUE) from None
    return parts


def _https_url(v: Mapping[str, Any], key: str) -> str:
    url = v[key].strip().rstrip("/")
    parts = _split(url, key)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigError(f"{key} must be an https URL, not {url!r}", key=key, code=BAD_VALUE)
    return url


def _authority(v: Mapping[str, Any]) -> tuple[str, str]:
    """(tenant, authority URL) from ``tenant``, ``authority`` and 4D's ``authenticateURI``/``tokenURI``."""
    tenant = v.get("tenant", "").strip()
    if tenant and not (_GUID.match(tenant) or _TENANT_NAME.match(tenant)):
        raise ConfigError(f"tenant must be common, organizations, consumers, a tenant id or a domain, not {tenant!r}",
                          key="tenant", code=BAD_VALUE)
    authority = None
    if "authority" in v:
        authority = _https_url(v, "authority")
        parts = urlsplit(authority)
        path = parts.path.strip("/")
        if not path:  # an authority host, as AZURE_AUTHORITY_HOST gives it
            if parts.hostname.endswith(".ciamlogin.com") and not tenant:
                pass  # MSAL derives the CIAM tenant from the host
            else:
                authority = f"{authority}/{tenant or 'common'}"
        else:
            first = path.split("/")[0]
            if tenant and tenant.lower() != first.lower():
                raise ConfigError(f"tenant {tenant!r} does not match the authority's tenant {first!r}",
                                  key="tenant", code=BAD_VALUE)
            tenant = first
    for key, suffix in (("authenticateURI", "/oauth2/v2.0/authorize"), ("tokenURI", "/oauth2/v2.0/token")):
        if key not in v:
            continue
        url = _https_url(v, key)
        if not url.endswith(suffix):
            raise ConfigError(f"{key} must be a Microsoft identity platform endpoint ending in {suffix}, not {url!r}; "
                              f"give other identity providers' URLs as authority", key=key, code=BAD_VALUE)
        derived = url[: -len(suffix)]
        if authority is None:
            authority = derived
            tenant = tenant or derived.rsplit("/", 1)[-1]
        elif derived.lower() != authority.lower():
            raise ConfigError(f"{key} does not belong to the authority {authority!r}", key=key, code=BAD_VALUE)
    tenant = tenant or "common"
    if authority is None:
        authority = f"https://{GLOBAL_AUTHORITY_HOST}/{tenant}"
    return tenant, authority


def _graph(v: Mapping[str, Any], authority_host: str) -> tuple[str, str]:
    """(Graph base URL, Graph scope prefix). Custom authorities and the emulator use global Graph's scopes."""
    if "graphEndpoint" in v:
        endpoint = v["graphEndpoint"].strip().rstrip("/")
        parts = _split(endpoint, "graphEndpoint")
        if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"graphEndpoint must be a URL, not {endpoint!r}", key="graphEndpoint", code=BAD_VALUE)
        if parts.scheme.lower() == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError("graphEndpoint must be https (plain http only on loopback)",
                              key="graphEndpoint", code=BAD_VALUE)
        if endpoint.lower().endswith(("/v1.0", "/beta")):
            endpoint = endpoint.rsplit("/", 1)[0]
        host = parts.hostname.lower()
        resource = f"https://{host}" if host in _GRAPH_HOSTS else GLOBAL_GRAPH
        return endpoint, resource
    graph = CLOUD_GRAPH.get(authority_host, GLOBAL_GRAPH)
    return graph, graph


def normalize_scopes(scopes: Any, graph_resource: str, *, key: str = "scope") -> tuple[tuple[str, ...], bool]:
    """Scopes as MSAL wants them: a list of full URIs, reserved OIDC scopes dropped.

    Returns (scopes, offline_access_was_asked). Short names such as ``User.Read`` and ``.default`` get the Graph
    prefix; ``email`` stays as it is (an OpenID Connect scope).
    """
    if isinstance(scopes, str):
        items = scopes.split()
    elif isinstance(scopes, (list, tuple)):
        items = []
        for item in scopes:
            if not isinstance(item, str):
                raise ConfigError(f"{key} must hold text only, not {type(item).__name__}", key=key, code=WRONG_TYPE)
            items.extend(item.split())
    else:
        raise ConfigError(f"{key} must be text or a list of text", key=key, code=WRONG_TYPE)
    result: list[str] = []
    offline = False
    for item in items:
        lowered = item.lower()
        if lowered in RESERVED_SCOPES:
            offline = offline or lowered == "offline_access"
            continue
        if "/" not in item and ":" not in item and lowered not in _OIDC_ONLY:
            item = f"{graph_resource}/{item}"
        if item not in result:
            result.append(item)
    return tuple(result), offline


def _scopes(value: Any, graph_resource: str, permission: str) -> tuple[tuple[str, ...], bool]:
    if value is None:
        default = ".default" if permission == "service" else "User.Read"
        return (f"{graph_resource}/{default}",), False
    scopes, offline = normalize_scopes(value, graph_resource)
    if not scopes:
        if permission == "service":
            raise ConfigError("scope is empty: service tokens need a '<resource>/.default' scope",
                              key="scope", code=EMPTY)
        # Only openid/profile/offline_access: a sign-in; its access token is Graph's User.Read, as Entra ID gives.
        return (f"{graph_resource}/User.Read",), offline
    if permission == "service":
        wrong = [s for s in scopes if not s.endswith("/.default")]
        if wrong:
            raise ConfigError(
                f"scope {wrong[0]!r}: service (app-only) tokens take '<resource>/.default' scopes, "
                f"e.g. {graph_resource}/.default; the app's granted roles decide what the token may do",
                key="scope", code=BAD_VALUE,
            )
    return scopes, offline


def _redirect_uri(v: Mapping[str, Any], permission: str, flow: Optional[str]) -> str:
    uri = v.get("redirectURI")
    if uri is None:
        return "http://localhost:0/"  # any free port; Entra ID matches loopback redirect URIs on any port
    parts = _split(uri.strip(), "redirectURI")
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
    return parts.scheme.lower() == "http" and (parts.hostname or "").lower() in ("localhost", "127.0.0.1", "::1")


def _page(v: Mapping[str, Any], key: str) -> Optional[str]:
    value = v.get(key)
    if value is None:
        return None
    text = str(value)
    if text.lower().startswith(("http://", "https://")):
        _split(text, key)
        return text
    path = _path(text, key)
    if not _is_file(path, key):
        raise ConfigError(f"{key} must be a URL or an existing file, not {_shown(text)}", key=key, code=BAD_VALUE)
    return str(path)


def _ca_file(v: Mapping[str, Any]) -> Optional[str]:
    if "caFile" not in v:
        return None
    path = _path(v["caFile"], "caFile")
    if not _is_file(path, "caFile"):
        raise ConfigError(f"caFile {_shown(str(path))} does not exist", key="caFile", code=BAD_VALUE)
    import ssl

    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"caFile {_shown(str(path))} holds no PEM certificate ({exc.__class__.__name__})",
                          key="caFile", code=BAD_PEM) from None
    except OSError as exc:  # e.g. not readable by this user
        raise ConfigError(f"caFile {_shown(str(path))} cannot be read: {exc.strerror or exc}", key="caFile",
                          code=BAD_VALUE) from None
    return str(path)


def _path(value: Any, key: str) -> Path:
    """``value`` as a path with ``~`` expanded (``~user`` of an unknown user is a ConfigError naming ``key``)."""
    try:
        return Path(str(value)).expanduser()
    except RuntimeError:
        raise ConfigError(f"{key} {_shown(str(value))}: the home directory in it is unknown", key=key,
                          code=BAD_VALUE) from None


def _is_file(path: Path, key: str) -> bool:
    """``path.is_file()``, where a name the system refuses (over 255 bytes: ENAMETOOLONG) is a ConfigError."""
    try:
        return path.is_file()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{key} {_shown(str(path))} cannot be a file name: {getattr(exc, 'strerror', None) or exc}",
                          key=key, code=BAD_VALUE) from None


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short when it is long (a file name may be thousands of characters)."""
    return repr(text) if len(text) <= 80 else repr(text[:80]) + "..."


def _cache_settings(v: Mapping[str, Any]) -> "CacheSettings":
    from ._cache import validate_cache_param

    return validate_cache_param(v.get("cache"))


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _certificate(v: Mapping[str, Any]) -> tuple[Optional[str], Optional[str]]:
    """(unencrypted private key PEM, thumbprint hex) from ``privateKey``+``thumbprint`` or ``certificateFile``."""
    password = _text(v["certificatePassword"]) if "certificatePassword" in v else None
    if "certificateFile" in v and "privateKey" in v:
        raise ConfigError("privateKey and certificateFile are both given: use one", key="certificateFile",
                          code=BAD_VALUE)
    if "thumbprint" in v and "privateKey" not in v:
        if "certificateFile" in v:
            raise ConfigError("thumbprint is not needed with certificateFile: it is computed from the certificate",
                              key="thumbprint", code=BAD_VALUE)
        raise ConfigError("privateKey is missing: thumbprint goes with privateKey (PEM text)",
                          key="privateKey", code=MISSING)
    if password is not None and "certificateFile" not in v and "privateKey" not in v:
        raise ConfigError("certificatePassword is given without certificateFile or privateKey",
                          key="certificatePassword", code=BAD_VALUE)
    if "privateKey" in v:
        pem = _text(v["privateKey"])
        key_pem, cert_thumbprint = _load_pem(pem.encode(), password, "privateKey")
        thumbprint = v.get("thumbprint")
        if thumbprint is None:
            if cert_thumbprint is None:
                raise ConfigError("thumbprint is missing: give the certificate's SHA-1 thumbprint (hex) with "
                                  "privateKey",
                                  key="thumbprint", code=MISSING)
            thumbprint = cert_thumbprint
        cleaned = re.sub(r"[\s:]", "", thumbprint).upper()
        if not re.fullmatch(r"[0-9A-F]{40}", cleaned):
            raise ConfigError("thumbprint must be the certificate's SHA-1 thumbprint: 40 hex digits",
                              key="thumbprint", code=BAD_VALUE)
        return key_pem, cleaned
    if "certificateFile" in v:
        path = _path(v["certificateFile"], "certificateFile")
        try:
            data = path.read_bytes()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"certificateFile {_shown(str(path))} cannot be read: "
                              f"{getattr(exc, 'strerror', None) or exc}",
                              key="certificateFile", code=BAD_VALUE) from None
        if path.suffix.lower() in (".pfx", ".p12"):
            key_pem, cert_thumbprint = _load_pfx(data, password)
        else:
            key_pem, cert_thumbprint = _load_pem(data, password, "certificateFile")
        if cert_thumbprint is None:
            raise ConfigError("certificateFile must hold the certificate as well as its private key",
                              key="certificateFile", code=BAD_PEM)
        return key_pem, cert_thumbprint
    return None, None


def _load_pem(data: bytes, password: Optional[str], key: str) -> tuple[str, Optional[str]]:
    """(unencrypted PKCS#8 key PEM, thumbprint of the first certificate or None). Bad PEM -> code 15."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        private_key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except TypeError as exc:  # password missing, or given for an unencrypted key
        message = "the private key is encrypted: give certificatePassword" if "encrypted" in str(exc) and not password \
            else "certificatePassword is given but the private key is not encrypted"
        raise ConfigError(f"{key}: {message}", key=key, code=BAD_VALUE) from None
    except ValueError:
        raise ConfigError(f"{key} holds no readable PEM private key (or the password is wrong)", key=key,
                          code=BAD_PEM) from None
    thumbprint = None
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            certificate = x509.load_pem_x509_certificates(data)[0]
        except ValueError:
            raise ConfigError(f"{key} holds a certificate that cannot be read", key=key, code=BAD_PEM) from None
        thumbprint = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return _pkcs8(private_key), thumbprint


def _load_pfx(data: bytes, password: Optional[str]) -> tuple[str, Optional[str]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        private_key, certificate, _ = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise ConfigError("certificateFile is not a readable PKCS#12 file (or the password is wrong)",
                          key="certificateFile", code=BAD_PEM) from None
    if private_key is None:
        raise ConfigError("certificateFile holds no private key", key="certificateFile", code=BAD_PEM)
    thumbprint = None
    if certificate is not None:
        thumbprint = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return _pkcs8(private_key), thumbprint


def _pkcs8(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


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
    return token


#: azure-identity's EnvironmentCredential variables -> parameter keys.
ENVIRONMENT = {
    "AZURE_CLIENT_ID": "clientId",
    "AZURE_TENANT_ID": "tenant",
    "AZURE_CLIENT_SECRET": "clientSecret",
    "AZURE_CLIENT_CERTIFICATE_PATH": "certificateFile",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": "certificatePassword",
    "AZURE_AUTHORITY_HOST": "authority",
}


def params_from_environment(environ: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """A parameter object from the ``AZURE_*`` variables azure-identity users already set."""
    import os

    environ = os.environ if environ is None else environ
    params = {key: environ[variable] for variable, key in ENVIRONMENT.items() if environ.get(variable)}
    if "authority" in params and "://" not in params["authority"]:
        params["authority"] = "https://" + params["authority"]  # AZURE_AUTHORITY_HOST may be a bare host
    return params


def params_from_file(path: Any) -> dict[str, Any]:
    """The parameter object saved as JSON in ``path``; ConfigError (key ``params``) when it can't be used."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the parameter file {path}: {exc.strerror}", key="params") from None
    except ValueError as exc:
        raise ConfigError(f"the parameter file {path} is not JSON ({exc})", key="params") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"the parameter file {path} must hold a JSON object (4D's parameter object)",
                          key="params", code=WRONG_TYPE)
    return loaded
