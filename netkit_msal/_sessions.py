"""A provider's HTTP sessions and SSL context, built on first need.

requests (~0.1 s to import) is loaded only when a session is first asked for: a token served from memory or the
cache by a new process (``netkit-msal token``) never pays for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional

from ._net import ssl_context

if TYPE_CHECKING:
    import ssl

    from ._http import Session


class ProviderHTTP:
    """A provider's HTTP: one session for its callers, one for MSAL (5xx retried), one SSL context; built lazily.

    ``caFile`` is trusted alongside the system CAs by all three.
    """

    def __init__(self, ca_file: Optional[str], timeout: Optional[float]) -> None:
        self._ca_file = ca_file
        self._timeout = timeout
        self._lock = threading.Lock()
        self._session: Optional[Session] = None
        self._identity: Optional[Session] = None
        self._context: Optional[ssl.SSLContext] = None

    def session(self) -> Session:
        """For callers (Graph, Office365): refused connections retried, HTTP errors left to the caller."""
        with self._lock:
            if self._session is None:
                from ._http import make_session

                self._session = make_session(self._ca_file, self._timeout, context=self.ssl_context)
            return self._session

    def identity_session(self) -> Session:
        """For MSAL: as :meth:`session`, and transient 5xx from the identity platform are retried."""
        with self._lock:
            if self._identity is None:
                from ._http import make_session

                self._identity = make_session(self._ca_file, self._timeout, context=self.ssl_context,
                                              retry_server_errors=True)
            return self._identity

    def ssl_context(self) -> ssl.SSLContext:
        """Built on first need (loading the system CAs costs ~20 ms)."""
        if self._context is None:
            self._context = ssl_context(self._ca_file)
        return self._context

    def close(self) -> None:
        with self._lock:
            for session in (self._session, self._identity):
                if session is not None:
                    session.close()
            self._session = self._identity = None
