"""Conditional access in the emulator: continuous access evaluation (CAE) events and authentication contexts.

What Entra does, in the parts a client can see:

- Token requests may carry ``claims`` (JSON). ``access_token.xms_cc.values`` (MSAL's client capabilities,
  ``CP1``) makes the token CAE-capable: it gets ``xms_cc``. ``access_token.acrs`` (``value`` or ``values``)
  asks for authentication contexts: the token gets ``acrs`` when the user may have them (see ``grant``).
- ``challenge_sessions``: a critical event for a user (Entra's CAE: a session revoked, a location policy
  changed). Graph rejects the user's CAE-capable tokens issued before it with a claims challenge asking for
  a token not before the event (``{"access_token": {"nbf": {"essential": true, "value": "<time>"}}}``).
  Tokens without ``xms_cc`` are not CAE tokens and live to their expiry, as in Entra. Whether a refresh token
  still redeems is the caller's choice: the emulator's ``challenge_sessions(upn, revoke=True)`` revokes the
  user's refresh tokens too (Entra's ``revokeSignInSessions``), so only a new sign-in satisfies the challenge.
- ``require_auth_context``: Graph rejects the user's tokens lacking an ``acrs`` value with a claims challenge
  asking for it (``{"access_token": {"acrs": {"essential": true, "value": "c1"}}}``). ``grant`` says how the
  token endpoint answers such a request: ``"silent"`` (the session already satisfies it, e.g. MFA done: a
  refresh token gets it), ``"interactive"`` (only a sign-in gets it: a refresh answers ``interaction_required``,
  AADSTS50076) or ``"never"`` (tokens come without it, so the resource challenges again).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any, Optional

from ._errors import EntraError

GRANTS = ("silent", "interactive", "never")


def _values(request: Any) -> list[str]:
    """``{"value": "c1"}`` or ``{"values": ["c1", "c2"]}`` (an OIDC claims request) as a list of text."""
    if not isinstance(request, dict):
        return []
    values = request.get("values")
    if isinstance(values, list):
        return [str(v) for v in values]
    value = request.get("value")
    return [str(value)] if value is not None else []


class ConditionalAccess:
    """Per-user CAE cut-offs and required authentication contexts, for the token endpoint and Graph."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._cutoff: dict[str, int] = {}
        self._contexts: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ knobs
    def challenge_sessions(self, user_id: str) -> int:
        """Tokens of the user issued up to now no longer pass Graph (CAE ones); returns the cut-off time."""
        cutoff = math.floor(self._now()) + 1  # iat is whole seconds: tokens issued from now on get this iat
        with self._lock:
            self._cutoff[user_id] = max(cutoff, self._cutoff.get(user_id, 0))
        return cutoff

    def require_auth_context(self, user_id: str, context: str, grant: str = "silent") -> None:
        if grant not in GRANTS:
            raise ValueError(f"grant must be one of {', '.join(GRANTS)}, not {grant!r}")
        with self._lock:
            self._contexts.setdefault(user_id, {})[context] = grant

    def clear(self, user_id: Optional[str] = None) -> None:
        """Forget the cut-offs and authentication contexts of one user (None: everyone's)."""
        with self._lock:
            if user_id is None:
                self._cutoff.clear()
                self._contexts.clear()
            else:
                self._cutoff.pop(user_id, None)
                self._contexts.pop(user_id, None)

    # ------------------------------------------------------------------ token endpoint
    def token_claims(self, user_id: Optional[str], claims_text: str, *, silent: bool) -> dict[str, Any]:
        """Claims to add to an access token for a request's ``claims`` (user_id None: an app-only token).

        ``silent`` is a refresh token redeemed without the user: an authentication context that needs the user
        raises ``interaction_required``.
        """
        extra: dict[str, Any] = {}
        if claims_text:
            try:
                requested = json.loads(claims_text)
            except ValueError:
                requested = None
            if not isinstance(requested, dict):
                raise EntraError("invalid_request", 90100, "The claims parameter is not a valid JSON object.")
            wanted = requested.get("access_token") or {}
            if not isinstance(wanted, dict):
                wanted = {}
            capabilities = _values(wanted.get("xms_cc"))
            if capabilities:
                extra["xms_cc"] = capabilities
            contexts = _values(wanted.get("acrs")) if user_id else []
            with self._lock:
                grants = dict(self._contexts.get(user_id or "", {}))
            if silent and any(grants.get(c) == "interactive" for c in contexts):
                raise EntraError("interaction_required", 50076,
                                 "Due to a configuration change made by your administrator, or because you "
                                 "moved to a new location, you must use multi-factor authentication to access "
                                 "this resource.")
            granted = [c for c in contexts if grants.get(c) != "never"]
            if granted:
                extra["acrs"] = granted
        with self._lock:
            cutoff = self._cutoff.get(user_id or "")
        if cutoff and math.floor(self._now()) < cutoff:
            extra.update(iat=cutoff, nbf=cutoff)  # issued after the event, though within its second
        return extra

    # ------------------------------------------------------------------ Graph
    def challenge(self, token: dict[str, Any]) -> Optional[tuple[dict[str, Any], str]]:
        """The claims (and Graph's message) a user's token must be challenged with, or None if it passes."""
        if token.get("idtyp") != "user":
            return None
        user_id = str(token.get("oid") or "")
        with self._lock:
            cutoff = self._cutoff.get(user_id)
            required = list(self._contexts.get(user_id, {}))
        capabilities = token.get("xms_cc") or []
        if cutoff and "CP1" in capabilities and int(token.get("iat") or 0) < cutoff:
            return ({"access_token": {"nbf": {"essential": True, "value": str(cutoff)}}},
                    "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: "
                    "TokenIssuedBeforeRevocationTimestamp")
        held = token.get("acrs") or []
        missing = [c for c in required if c not in held]
        if missing:
            wanted = {"value": missing[0]} if len(missing) == 1 else {"values": missing}
            return ({"access_token": {"acrs": {"essential": True, **wanted}}},
                    f"The access token lacks the authentication context {', '.join(missing)} that conditional "
                    f"access requires for this resource.")
        return None
