"""The authorization code flow in two steps, for web apps that receive the redirect themselves.

Step 1 :func:`start` gives MSAL's flow (its ``auth_uri`` is where to send the user); step 2 :func:`complete`
takes the redirect (a URL, a query string, a form_post body or a dict) and redeems the code. The provider keeps
the flows of sign-ins in progress in memory, keyed by ``state``; a web app running several worker processes must
send the redirect back to the process that started the sign-in (sticky sessions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union
from urllib.parse import parse_qsl, urlsplit

from .._exceptions import CallbackError, ConfigError
from . import check, msal_errors


def start(app: Any, scopes: Sequence[str], *, redirect_uri: str, state: Optional[str] = None,
          prompt: Optional[str] = None, login_hint: Optional[str] = None,
          response_mode: str = "form_post", claims: Optional[str] = None) -> dict[str, Any]:
    """MSAL's auth code flow (PKCE S256, nonce, state) for ``redirect_uri``.

    The response comes back as a ``form_post`` by default (RFC 9700 recommends it: the code stays out of URLs,
    logs and browser history); ``"query"`` puts it in the redirect URL.
    """
    if response_mode not in ("form_post", "query"):
        raise ConfigError(f'response_mode must be "form_post" or "query", not {response_mode!r}',
                          key="response_mode")
    with msal_errors("authorization"):
        return app.initiate_auth_code_flow(list(scopes), redirect_uri=redirect_uri, state=state,
                                           prompt=prompt, login_hint=login_hint, response_mode=response_mode,
                                           claims_challenge=claims)


def parse_response(response: Union[str, Mapping[str, Any]]) -> dict[str, str]:
    """The redirect's parameters from a full URL, a query string or form body, or a mapping."""
    if isinstance(response, Mapping):
        return {str(k): str(v[0] if isinstance(v, (list, tuple)) else v) for k, v in response.items()}
    if not isinstance(response, str):
        raise ConfigError(f"the redirect must be a URL, a query string or a dict, not {type(response).__name__}",
                          key="response", code=10)
    text = response.strip()
    if "://" in text:
        parts = urlsplit(text)
        text = parts.query or parts.fragment
    return dict(parse_qsl(text.lstrip("?#"), keep_blank_values=True))


def raise_for_callback_error(params: Mapping[str, str]) -> None:
    """4D error 12: the redirect carries ``error``/``error_description`` instead of a code."""
    if "error" in params:
        error, description = params.get("error"), params.get("error_description", "")
        raise CallbackError(f"sign-in refused: {error}: {description}".rstrip(": "),
                            error=error, error_description=description)
    if not params.get("code"):
        raise CallbackError("the redirect carries no authorization code", code=6)


def complete(app: Any, flow: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """Redeem the code of a redirect for tokens (MSAL checks state and nonce)."""
    raise_for_callback_error(params)
    with msal_errors("authorization code"):
        result = app.acquire_token_by_auth_code_flow(dict(flow), dict(params))
    return check(result, "authorization code")
