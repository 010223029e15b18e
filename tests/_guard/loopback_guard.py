"""Tests reach loopback only: an audit hook refuses any other connection or name lookup.

Installed in the pytest process by conftest.py and in every Python child process it starts through
``sitecustomize`` (this folder is put on ``PYTHONPATH``).
"""

from __future__ import annotations

import ipaddress
import socket
import sys

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class InternetAccessBlocked(RuntimeError):
    pass


def _is_loopback_host(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple) -> None:
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback_host(address[0]):
            raise InternetAccessBlocked(f"tests may reach loopback only, not {address[0]!r}")
    elif event == "socket.getaddrinfo":
        if not _is_loopback_host(args[0]):
            raise InternetAccessBlocked(f"tests may reach loopback only, not {args[0]!r}")


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
