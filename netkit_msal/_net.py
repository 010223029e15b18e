"""Small network facts several layers share: is a host this machine, how long does ``Retry-After`` say to wait.

A leaf module (standard library only), so the HTTP session, the redirect receiver, the mail openers, the Graph
clients and the token cache can all use one answer.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Optional

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
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT anyway
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
