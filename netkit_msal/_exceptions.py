"""One exception hierarchy for the whole package.

Every error a user can meet is a ``NetKitError``. Each carries ``code``, the error code 4D NetKit
uses for the same situation, so that ported 4D code can keep its error handling. Messages never
contain an access token, refresh token, client secret or private key.
"""

from __future__ import annotations

from typing import Any, Optional

#: 4D NetKit's error codes for a bad parameter: missing, bad value, empty, wrong type, too large, bad PEM.
MISSING, BAD_VALUE, EMPTY, WRONG_TYPE, TOO_LARGE, BAD_PEM = 2, 3, 9, 10, 13, 15


class NetKitError(Exception):
    """Base class of every error raised by netkit-msal."""

    #: 4D NetKit's error code for this kind of error.
    code: int = 0

    def __init__(self, message: str, *, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(NetKitError, ValueError):
    """A parameter or option object is wrong: unknown key, wrong type, missing or conflicting key.

    ``key`` names the offending key; ``suggestion`` is a close spelling for a misspelled key.
    """

    code = 3  # 4D: bad value (2 missing attribute, 9 empty, 10 wrong type are passed explicitly)

    def __init__(
        self,
        message: str,
        *,
        key: Optional[str] = None,
        suggestion: Optional[str] = None,
        code: Optional[int] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.key = key
        self.suggestion = suggestion


class AuthenticationError(NetKitError):
    """The identity platform refused a request, or a flow could not complete.

    Carries what Entra ID (through MSAL) said: ``error``, ``error_description``, the AADSTS
    ``error_codes``, the ``correlation_id`` to quote to Microsoft support, and for throttling (HTTP 429)
    ``retry_after``, the seconds to wait before asking again.
    """

    code = 8

    def __init__(
        self,
        message: str,
        *,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        error_codes: Optional[list[int]] = None,
        correlation_id: Optional[str] = None,
        code: Optional[int] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.error = error
        self.error_description = error_description
        self.error_codes = list(error_codes or [])
        self.correlation_id = correlation_id
        self.retry_after = retry_after

    @classmethod
    def from_msal(cls, result: dict[str, Any], context: str) -> AuthenticationError:
        """Build the error from an MSAL error dict (MSAL returns errors, it does not raise)."""
        error = result.get("error")
        description = result.get("error_description") or ""
        target = InteractionRequiredError if error in _INTERACTION_ERRORS else cls
        return target(
            f"{context}: {error}: {description}".rstrip(": "),
            error=error,
            error_description=description,
            error_codes=result.get("error_codes"),
            correlation_id=result.get("correlation_id"),
            retry_after=_seconds(result.get("retry_after")),  # a 429's Retry-After, put there by our session
        )


def _seconds(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


_INTERACTION_ERRORS = {"interaction_required", "login_required", "consent_required", "invalid_grant"}


class InteractionRequiredError(AuthenticationError):
    """No token can be had silently: the user must sign in (again) or consent.

    ``claims`` is the claims challenge (JSON text) a resource asked for, when there was one: pass it on to an
    interactive sign-in (``provider.get_token(claims=error.claims)``) so the new token satisfies it.
    """

    def __init__(self, message: str, *, claims: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.claims = claims


class CallbackError(AuthenticationError):
    """The browser redirect came back with ``error``/``error_description`` (4D code 12)."""

    code = 12


class FlowTimeoutError(NetKitError, TimeoutError):
    """A sign-in, device code or network wait took longer than allowed (4D code 4)."""

    code = 4


class PortInUseError(NetKitError, OSError):
    """The redirect URI's port is taken by another program (4D code 7)."""

    code = 7


class CacheError(NetKitError):
    """The token cache cannot be read, written or locked."""

    code = 5


class HTTPError(NetKitError):
    """An HTTP service answered with an unexpected status (4D code 5)."""

    code = 5

    def __init__(self, message: str, *, status: Optional[int] = None, code: Optional[int] = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class GraphError(HTTPError):
    """Microsoft Graph answered with an error: ``status``, Graph's ``error_code`` and ``request_id``."""

    code = 8

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        error_code: Optional[str] = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message, status=status)
        self.error_code = error_code
        self.request_id = request_id
        self.retry_after = retry_after


class MailAuthError(NetKitError):
    """A mail server refused the OAuth 2.0 login.

    ``server_response`` is the server's final answer; ``challenge`` the decoded error challenge
    (the JSON Exchange and Dovecot send before refusing), when there was one.
    """

    code = 8

    def __init__(
        self,
        message: str,
        *,
        server_response: Optional[str] = None,
        challenge: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.server_response = server_response
        self.challenge = challenge
