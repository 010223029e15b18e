"""The ways to get a token, one module each, all through MSAL.

``browser`` (auth code with a local redirect receiver), ``device_code``, ``auth_code`` (web apps, in two
steps), ``client_credentials`` (secret or certificate; a managed identity through ``managed_identity``) and
``silent`` (cache, refresh token). Each takes an
MSAL application and returns MSAL's result dict; :func:`check` turns an error result into our exceptions and
:func:`msal_errors` does the same for what MSAL raises (network failures, malformed answers).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Optional

from .._exceptions import AuthenticationError, FlowTimeoutError, HTTPError, NetKitError
from .._token import check_token_fields


def check(result: Mapping[str, Any], context: str) -> dict[str, Any]:
    """MSAL's result if it holds a usable access token, else the matching AuthenticationError."""
    if "access_token" not in result:
        raise AuthenticationError.from_msal(dict(result), context)
    try:
        check_token_fields(result)
    except (TypeError, ValueError) as exc:
        raise AuthenticationError(f"{context}: the identity platform's answer cannot be used: {exc}") from None
    return dict(result)


@contextlib.contextmanager
def msal_errors(context: str) -> Iterator[None]:
    """Turn what MSAL and requests raise into NetKitError subclasses (messages carry no request body).

    MSAL raises ``MsalServiceError("HTTP Error: <status>")`` for a 5xx that holds no OAuth error (after our
    session's retries, or replayed by MSAL's throttling while its Retry-After runs): that is an HTTPError.
    """
    import requests
    from msal.exceptions import MsalError

    from .._msal_http import MalformedTokenAnswer

    try:
        yield
    except MalformedTokenAnswer as exc:  # raised by our HTTP client inside MSAL, which cannot know the flow
        raise AuthenticationError(f"{context}: {exc}") from None
    except NetKitError:
        raise
    except MsalError as exc:
        status = _http_status(exc)
        answer = f"answered HTTP {status}" if status is not None else f"failed ({type(exc).__name__})"
        raise HTTPError(f"{context}: the identity platform {answer}", status=status) from None
    except requests.Timeout as exc:
        raise FlowTimeoutError(f"{context}: the identity platform did not answer in time ({type(exc).__name__})") \
            from None
    except requests.RequestException as exc:
        raise HTTPError(f"{context}: cannot reach the identity platform ({type(exc).__name__}: "
                        f"{_short(exc)})") from None
    except (ValueError, RuntimeError, KeyError) as exc:  # MSAL's checks: state, nonce, https, bad JSON
        raise AuthenticationError(f"{context}: {type(exc).__name__}: {_short(exc)}") from None
    except (TypeError, AttributeError, IndexError) as exc:  # MSAL reading JSON of the wrong shape ([] for {})
        raise AuthenticationError(f"{context}: the identity platform's answer is malformed "
                                  f"({type(exc).__name__}: {_short(exc)})") from None


def check_account(result: Mapping[str, Any], login_hint: Optional[str], context: str) -> None:
    """The account that signed in must be the one ``login_hint`` asked for: a hint is only a hint to the sign-in
    page (the user may pick another account there), so a different user is an AuthenticationError."""
    if not login_hint:
        return
    claims = result.get("id_token_claims") or {}
    names = [str(claims[c]) for c in ("preferred_username", "upn", "email") if claims.get(c)]
    if names and login_hint.lower() not in {n.lower() for n in names}:
        raise AuthenticationError(f"{context}: {names[0]} signed in, but loginHint asked for {login_hint}: "
                                  f"the token is not used; sign in as {login_hint}")


def _http_status(exc: BaseException) -> Optional[int]:
    """The status in MSAL's ``HTTP Error: 500`` (its only MsalError raise; the exception has no attribute)."""
    match = re.fullmatch(r"HTTP Error: (\d{3})", str(exc))
    return int(match.group(1)) if match else None


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."
