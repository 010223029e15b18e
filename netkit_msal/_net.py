"""Small network facts several layers share: is a host this machine, how long does ``Retry-After`` say to wait,
which CAs does a TLS client trust.

A leaf module (standard library only), so the HTTP session, the redirect receiver, the mail openers, the Graph
clients and the token cache can all use one answer.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from datetime import timezone
from typing import Optional

from ._exceptions import ConfigError

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


def ssl_context(ca_file: Optional[str] = None, *, key: str = "caFile") -> ssl.SSLContext:
    """A client context trusting the system CAs and, when given, ``ca_file`` too (hostnames checked).

    A file that cannot be loaded is a ConfigError naming ``key`` (the parameter it came from).
    """
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path; ssl.SSLError is an OSError
            raise ConfigError(f"cannot load the CA file {ca_file!r}: {exc}", key=key) from exc
    return context
