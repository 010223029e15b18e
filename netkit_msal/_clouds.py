"""Microsoft's clouds: which authority a parameter object names, and which Graph goes with it.

Its own module because the authority and Graph rules (national clouds, CIAM hosts, 4D's authenticateURI and
tokenURI) are a concern apart from the parameter object's other keys, and are checked against Microsoft's
published lists of hosts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ._exceptions import BAD_VALUE, ConfigError
from ._net import is_loopback_host

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
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def split_url(url: str, key: str) -> SplitResult:
    """``urlsplit`` with its errors (bad IPv6 literal, bad port) as ConfigError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading the port is what checks it
    except ValueError as exc:
        raise ConfigError(f"{key} is not a valid URL ({exc}): {url!r}", key=key, code=BAD_VALUE) from None
    return parts


def https_url(v: Mapping[str, Any], key: str) -> str:
    url = v[key].strip().rstrip("/")
    parts = split_url(url, key)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigError(f"{key} must be an https URL, not {url!r}", key=key, code=BAD_VALUE)
    return url


def authority_from(v: Mapping[str, Any]) -> tuple[str, str]:
    """(tenant, authority URL) from ``tenant``, ``authority`` and 4D's ``authenticateURI``/``tokenURI``."""
    tenant = v.get("tenant", "").strip()
    if tenant and not (_GUID.match(tenant) or _TENANT_NAME.match(tenant)):
        raise ConfigError(f"tenant must be common, organizations, consumers, a tenant id or a domain, not {tenant!r}",
                          key="tenant", code=BAD_VALUE)
    authority = None
    if "authority" in v:
        authority = https_url(v, "authority")
        parts = urlsplit(authority)
        path = parts.path.strip("/")
        if not path:  # an authority host, as AZURE_AUTHORITY_HOST gives it
            if (parts.hostname or "").endswith(".ciamlogin.com") and not tenant:
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
        url = https_url(v, key)
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


def graph_from(v: Mapping[str, Any], authority_host: str) -> tuple[str, str]:
    """(Graph base URL, Graph scope prefix). Custom authorities and the emulator use global Graph's scopes."""
    if "graphEndpoint" in v:
        endpoint = v["graphEndpoint"].strip().rstrip("/")
        parts = split_url(endpoint, "graphEndpoint")
        if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"graphEndpoint must be a URL, not {endpoint!r}", key="graphEndpoint", code=BAD_VALUE)
        if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname):
            raise ConfigError("graphEndpoint must be https (plain http only on loopback)",
                              key="graphEndpoint", code=BAD_VALUE)
        if endpoint.lower().endswith(("/v1.0", "/beta")):
            endpoint = endpoint.rsplit("/", 1)[0]
        host = parts.hostname.lower()
        resource = f"https://{host}" if host in _GRAPH_HOSTS else GLOBAL_GRAPH
        return endpoint, resource
    graph = CLOUD_GRAPH.get(authority_host, GLOBAL_GRAPH)
    return graph, graph
