"""The ways to get a token, one module each, all through MSAL.

``browser`` (auth code with a local redirect receiver), ``device_code``, ``auth_code`` (web apps, in two
steps), ``client_credentials`` (secret or certificate) and ``silent`` (cache, refresh token). Each takes an
MSAL application and returns MSAL's result dict; :func:`check` turns an error result into our exceptions and
:func:`msal_errors` does the same for what MSAL raises (network failures, malformed answers).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping

from .._exceptions import AuthenticationError, FlowTimeoutError, HTTPError, NetKitError


def check(result: Mapping[str, Any], context: str) -> dict[str, Any]:
    """MSAL's result if it holds an access token, else the matching AuthenticationError."""
    if "access_token" in result:
        return dict(result)
    raise AuthenticationError.from_msal(dict(result), context)


@contextlib.contextmanager
def msal_errors(context: str) -> Iterator[None]:
    """Turn what MSAL and requests raise into NetKitError subclasses (messages carry no request body)."""
    import requests

    try:
        yield
    except NetKitError:
        raise
    except requests.Timeout as exc:
        raise FlowTimeoutError(f"{context}: the identity platform did not answer in time ({type(exc).__name__})") \
            from None
    except requests.RequestException as exc:
        raise HTTPError(f"{context}: cannot reach the identity platform ({type(exc).__name__}: "
                        f"{_short(exc)})") from None
    except (ValueError, RuntimeError, KeyError) as exc:  # MSAL's checks: state, nonce, https, bad JSON
        raise AuthenticationError(f"{context}: {type(exc).__name__}: {_short(exc)}") from None


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."
