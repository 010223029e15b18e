"""What the IMAP, SMTP and POP3 openers share: the checked settings and login (:func:`prepare`), opening and
logging in (:func:`open_connection`), TLS, ports, timeouts, errors, and ``reopen()``."""

from __future__ import annotations

import base64
import binascii
import math
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar

from .._config import MAX_TIMEOUT
from .._exceptions import ConfigError, FlowTimeoutError, MailAuthError
from .._net import is_loopback_host, ssl_context
from ._sasl import b64, check_mechanism, decode_challenge, initial_response
from ._source import MailCredentials, MailSource, refusal_hints, resolve

C = TypeVar("C")

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
    if mode == "none" and not is_loopback_host(host):
        raise ConfigError(f"tls='none' would send the token in clear text to {host}: it is for loopback "
                          "test servers only; use 'implicit' or 'starttls'", key="tls")
    return mode


def check_host(host: str) -> str:
    """The host name; ConfigError for anything but non-empty text (the socket layer's errors say less)."""
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"host must be a non-empty host name, not {host!r}", key="host")
    return host.strip()


def default_port(protocol: str, tls: str, port: Optional[int]) -> int:
    """``port``, checked, or the protocol's port for the TLS mode when it is None."""
    if port is None:
        return _PORTS[protocol][tls]
    # bool is an int: port=True is a mistake, not port 1.
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"port must be a whole number from 1 to 65535, not {port!r}", key="port")
    return port


def check_timeout(timeout: float) -> float:
    """Seconds to wait for the server: a positive finite number (0 would make the socket non-blocking)."""
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
        raise ConfigError(f"timeout must be a number of seconds, not {type(timeout).__name__}", key="timeout")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}", key="timeout")
    if timeout > MAX_TIMEOUT:
        raise ConfigError(f"timeout is too large: at most {MAX_TIMEOUT} seconds", key="timeout")
    return float(timeout)


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


def as_text(value: Any) -> str:
    """Server bytes (or what typeshed calls str) as text; undecodable bytes replaced."""
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


REDACTED = "[redacted]"
#: A JWT (its header always starts with ``{"``, i.e. ``eyJ``); the signature may be empty.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: A run of base64 (or base64url) characters worth a look; at LONG_BASE64 and over it is masked anyway.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
LONG_BASE64 = 40
#: Shorter secrets are not searched for: masking every "abc" would garble the text and hide nothing.
_MIN_SECRET = 8


def login_secrets(token: str, response: str) -> tuple[str, ...]:
    """What a login sends that must never be shown: the token, the SASL string and its base64 form."""
    return (token, response, b64(response))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Server text made safe to show: a careless server may quote the client's AUTH line back.

    Masks each of ``secrets``, JWTs, base64 runs that decode to text holding a secret, and any
    base64 run of LONG_BASE64 characters or more (a truncated echo of the SASL string is one).
    """
    searched = sorted({s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    for secret in searched:
        text = text.replace(secret, REDACTED)
    text = _JWT.sub(REDACTED, text)

    def mask(match: re.Match[str]) -> str:
        run = match.group()
        return REDACTED if len(run) >= LONG_BASE64 or _decodes_to_a_secret(run, searched) else run

    return _BASE64_RUN.sub(mask, text)


def _decodes_to_a_secret(run: str, secrets: Iterable[str]) -> bool:
    core = run.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        decoded = base64.b64decode(core + "=" * (-len(core) % 4)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return False
    return any(secret in decoded for secret in secrets)


def _redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """``redact`` through the strings of a decoded JSON challenge (a server chooses what it holds)."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(str(k), secrets): _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, secrets) for v in value]
    return value


def refusal(
    protocol: str,
    creds: MailCredentials,
    response: str,
    server_response: str,
    challenge: Optional[bytes | str | dict],
) -> MailAuthError:
    """The MailAuthError for a refused login, with the causes the token itself shows.

    ``response`` is the SASL string that was sent: it, the token and their encodings are masked
    in everything taken from the server (message, ``server_response``, ``challenge``).
    """
    secrets = login_secrets(creds.access_token, response)
    server_response = redact(server_response, secrets)
    decoded = challenge if isinstance(challenge, dict) else decode_challenge(challenge)
    message = f"the {protocol.upper()} server refused the OAuth 2.0 login of {creds.user}: {server_response}"
    hints = refusal_hints(creds.claims, creds.user)
    if hints:
        message += " (" + "; ".join(hints) + ")"
    return MailAuthError(message, server_response=server_response, challenge=_redact_value(decoded, secrets))


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


@dataclass(frozen=True)
class Login:
    """One connection's settings, checked, with the token and the SASL string to send."""

    protocol: str
    host: str
    port: int
    tls: str
    timeout: float
    mechanism: str
    creds: MailCredentials
    context: Optional[ssl.SSLContext] = field(repr=False)
    response: str = field(repr=False)
    #: The caller's options, checked: what ``reopen()`` opens again with.
    options: dict[str, Any] = field(repr=False)


def prepare(protocol: str, source: MailSource, *, user: Optional[str], host: str, port: Optional[int], tls: str,
            ca_file: Optional[str], timeout: float, mechanism: str, shared_mailbox: Optional[str]) -> Login:
    """Check every option (ConfigError names the key) and get the token, all before connecting.

    IMAP and POP3 log in as the shared mailbox with the delegate's token; SMTP logs in as the delegate.
    """
    host = check_host(host)
    tls = check_tls(tls, host)
    mechanism = check_mechanism(mechanism)
    port = default_port(protocol, tls, port)
    timeout = check_timeout(timeout)
    login_user = user if protocol == "smtp" else (shared_mailbox or user)
    creds = resolve(source, protocol, user=login_user, ca_file=ca_file)
    return Login(
        protocol=protocol, host=host, port=port, tls=tls, timeout=timeout, mechanism=mechanism, creds=creds,
        context=ssl_context(creds.ca_file, key="ca_file") if tls != "none" else None,
        response=initial_response(mechanism, creds.user, creds.access_token, host, port),
        options=dict(user=user, host=host, port=port, tls=tls, ca_file=ca_file, timeout=timeout,
                     mechanism=mechanism, shared_mailbox=shared_mailbox),
    )


def open_connection(login: Login, source: MailSource, opener: Callable[..., Any], connect: Callable[[Login], C],
                    log_in: Callable[[C, Login], str], abort: Callable[[C], Any]) -> C:
    """``connect``, then ``log_in`` (STARTTLS and AUTH; its answer becomes ``login_response``), ``abort`` on any
    failure; socket time-outs become FlowTimeoutError. ``reopen()`` calls ``opener`` with the same options."""
    with timeouts_reported(login.protocol, login.host, login.port, login.timeout):
        conn = connect(login)
        try:
            conn.login_response = log_in(conn, login)  # type: ignore[attr-defined]
        except BaseException:
            abort(conn)
            raise
    conn._netkit_opener = lambda new_source: opener(new_source or source, **login.options)  # type: ignore[attr-defined]
    return conn
