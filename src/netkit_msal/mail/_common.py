"""What the IMAP, SMTP and POP3 openers share: TLS settings, ports, errors, and ``reopen()``."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from .._exceptions import ConfigError, FlowTimeoutError, MailAuthError
from ._sasl import decode_challenge
from ._source import MailCredentials, refusal_hints

TLS_MODES = ("implicit", "starttls", "none")
# protocol -> {tls mode: default port}
_PORTS = {
    "imap": {"implicit": 993, "starttls": 143, "none": 143},
    "pop3": {"implicit": 995, "starttls": 110, "none": 110},
    "smtp": {"implicit": 465, "starttls": 587, "none": 587},
}


def check_tls(tls: str, host: str) -> str:
    """The TLS mode; ``none`` only for loopback hosts, since the token would cross the network in clear."""
    mode = str(tls).lower()
    if mode not in TLS_MODES:
        raise ConfigError(f"tls must be one of {', '.join(TLS_MODES)}, not {tls!r}", key="tls")
    if mode == "none" and not _is_loopback(host):
        raise ConfigError(f"tls='none' would send the token in clear text to {host}: it is for loopback "
                          "test servers only; use 'implicit' or 'starttls'", key="tls")
    return mode


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_port(protocol: str, tls: str, port: Optional[int]) -> int:
    return int(port) if port else _PORTS[protocol][tls]


def ssl_context(ca_file: Optional[str]) -> ssl.SSLContext:
    """System CAs plus ``ca_file`` (e.g. the emulator's CA), hostname checked."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the CA file {ca_file}: {exc}", key="ca_file") from exc
    return context


@contextmanager
def timeouts_reported(protocol: str, host: str, port: int, timeout: float) -> Iterator[None]:
    """Turn a socket timeout (also one a client library wrapped, as smtplib does) into FlowTimeoutError."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, socket.timeout) or isinstance(exc.__context__, socket.timeout):
            raise FlowTimeoutError(
                f"the {protocol.upper()} server {host}:{port} did not answer within {timeout:g} s"
            ) from exc
        raise


def refusal(
    protocol: str, creds: MailCredentials, server_response: str, challenge: Optional[bytes | str | dict]
) -> MailAuthError:
    """The MailAuthError for a refused login, with the causes the token itself shows."""
    decoded = challenge if isinstance(challenge, dict) else decode_challenge(challenge)
    message = f"the {protocol.upper()} server refused the OAuth 2.0 login of {creds.user}: {server_response}"
    hints = refusal_hints(creds.claims, creds.user)
    if hints:
        message += " (" + "; ".join(hints) + ")"
    return MailAuthError(message, server_response=server_response, challenge=decoded)


class ChallengeRecorder:
    """A SASL callback: the first call gives the response, later calls note the error challenge.

    After a refused token the server sends a JSON challenge that the client must answer with an
    empty line; answering with the token again (or aborting) only muddles the final answer.
    """

    def __init__(self, response: str) -> None:
        self._response: Optional[str] = response
        self.challenge: Optional[bytes] = None

    def next(self, challenge: Optional[bytes] = None) -> str:
        if self._response is not None:
            response, self._response = self._response, None
            return response
        self.challenge = challenge or b""
        return ""


class Reopenable:
    """Mixed into the returned connection classes: ``conn = conn.reopen()`` logs in again.

    Long-running jobs outlive an access token (about an hour); servers close or refuse the session
    then. ``reopen()`` closes this connection and opens a new one with the same options and a fresh
    token from the same source (a provider refreshes it), or from ``source`` when given.
    """

    _netkit_opener: Optional[Callable[[Any], Any]] = None
    #: The server's answer to the login (e.g. ``OK Logged in``, ``235 2.7.0 Logged in.``).
    login_response: str = ""

    def reopen(self, source: Any = None) -> Any:
        opener = self._netkit_opener
        if opener is None:
            raise ConfigError("this connection was not opened by netkit_msal.mail", key="source")
        try:
            self._netkit_close()
        except Exception:  # the old session may already be dead: that is why we reopen
            pass
        return opener(source)

    def _netkit_close(self) -> None:
        raise NotImplementedError
