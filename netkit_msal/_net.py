"""Small network facts several layers share: is a host this machine, how long does ``Retry-After`` say to wait,
what may be retried and for how long (one policy for Graph and the identity platform), which CAs does a TLS
client trust.

A leaf module (standard library only), so the HTTP session, the redirect receiver, the mail openers, the Graph
clients and the token cache can all use one answer.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Optional

from ._exceptions import ConfigError

if TYPE_CHECKING:
    import ssl  # loaded by ssl_context(): a token from the cache needs no TLS

#: Names that mean this machine, besides loopback IP addresses (127.0.0.0/8, ::1).
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: Optional[str]) -> bool:
    """Whether ``host`` (a name or an IP address, IPv6 with or without brackets) is this machine."""
    if not host:
        return False
    name = host.strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), None if absent or bad.

    Hand-written: urllib3's ``Retry.parse_retry_after`` raises on a bad value and needs a Retry object.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    from email.utils import parsedate_to_datetime  # email is ~20 modules: only for an HTTP date

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT anyway
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


#: Methods whose repetition is harmless: retried after an answer that may mean the server acted (5xx, lost answer).
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one call (see :func:`retry_delay` for what is retried)."""

    max_retries: int = 4
    #: Total seconds one call may spend waiting between attempts.
    max_wait: float = 30.0
    #: First wait when the server gives no ``Retry-After``; doubles each retry.
    backoff: float = 0.25


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    status: Optional[int],
    headers: Mapping[str, str],
    *,
    idempotent: bool,
    waited: float = 0.0,
) -> Optional[float]:
    """Seconds to wait before retry number ``attempt + 1``, or None to give up.

    429 and 503 mean the server refused the request: retried for every method, ``Retry-After`` honoured. 500,
    502, 504 and no answer at all (``status`` None) may mean the server acted: retried only when ``idempotent``
    (a ``sendMail`` POST is never sent twice). At most ``policy.max_retries`` retries and ``policy.max_wait``
    seconds of waiting in all (``waited`` so far): a longer ``Retry-After`` gives up at once.
    """
    if attempt >= policy.max_retries:
        return None
    if status in (429, 503):
        delay = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    elif status is None or status in (500, 502, 504):
        if not idempotent:
            return None
        delay = None
    else:
        return None
    if delay is None:
        delay = policy.backoff * (2 ** attempt)
    if waited + delay > policy.max_wait:
        return None
    return delay


def ssl_context(ca_file: Optional[str] = None, *, key: str = "caFile") -> ssl.SSLContext:
    """A client context trusting the system CAs and, when given, ``ca_file`` too (hostnames checked).

    A file that cannot be loaded is a ConfigError naming ``key`` (the parameter it came from).
    """
    import ssl

    context = ssl.create_default_context()
    if ca_file is not None and not isinstance(ca_file, (str, os.PathLike)):
        raise ConfigError(f"{key} must be a file path, not {type(ca_file).__name__}", key=key)
    if ca_file:
        try:
            regular = stat.S_ISREG(os.stat(ca_file).st_mode)
            if regular:  # OpenSSL would block on a FIFO and read /dev/zero for ever
                context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path; ssl.SSLError is an OSError
            raise ConfigError(f"cannot load the CA file {ca_file!r}: {exc}", key=key) from exc
        if not regular:
            raise ConfigError(f"cannot load the CA file {ca_file!r}: not a regular file", key=key)
    return context
