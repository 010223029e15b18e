"""netkit-msal: 4D NetKit's OAuth 2.0 provider for Python.

    from netkit_msal import OAuth2Provider
    provider = OAuth2Provider({"name": "Microsoft", "permission": "signedIn", "clientId": "...",
                               "redirectURI": "http://127.0.0.1:50993/", "scope": "https://graph.microsoft.com/User.Read"})
    token = provider.get_token()

Public names are loaded on first use, so that ``import netkit_msal`` costs no more than ``import msal``.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    AuthenticationError,
    CacheError,
    CallbackError,
    ConfigError,
    FlowTimeoutError,
    GraphError,
    HTTPError,
    InteractionRequiredError,
    MailAuthError,
    NetKitError,
    PortInUseError,
)
from ._version import __version__

# A library logs; the application decides where to. (Without this, Python's last-resort handler would
# print our one warning a second time next to the ``warnings`` module's copy.)
logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it
_LAZY = {
    "OAuth2Provider": "._provider",
    "Token": "._token",
    "params_from_environment": "._sources",
    "params_from_file": "._sources",
    "Office365": ".office365",
    "run_sync": "._graph",
    "graph_errors": "._graph",
    "ProviderCredential": "._credential",
    "AsyncProviderCredential": "._credential",
    "check_connection": ".mail",
    "xoauth2_string": ".mail",
    "oauthbearer_string": ".mail",
}

# Spelled out (not built from _LAZY) so that type checkers and linters see the public names;
# tests/test_static.py checks that every lazy name is listed.
__all__ = [
    "__version__", "AuthenticationError", "CacheError", "CallbackError", "ConfigError", "FlowTimeoutError",
    "GraphError", "HTTPError", "InteractionRequiredError", "MailAuthError", "NetKitError",
    "PortInUseError",
    "OAuth2Provider", "Token", "params_from_environment", "params_from_file", "Office365", "run_sync",
    "graph_errors", "ProviderCredential", "AsyncProviderCredential", "check_connection", "xoauth2_string",
    "oauthbearer_string",
]

if TYPE_CHECKING:
    from ._credential import AsyncProviderCredential, ProviderCredential
    from ._graph import graph_errors, run_sync
    from ._provider import OAuth2Provider
    from ._sources import params_from_environment, params_from_file
    from ._token import Token
    from .mail import check_connection, oauthbearer_string, xoauth2_string
    from .office365 import Office365


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netkit_msal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
