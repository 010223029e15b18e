"""A private Dovecot on loopback that accepts the emulator's tokens over IMAP, POP3 and SMTP, as Exchange Online.

    with Emulator() as emu, DovecotServer(emu) as dovecot:
        token = emu.mint_access_token("adele@contoso.example",
                                      scopes=["https://outlook.office.com/IMAP.AccessAsUser.All"])
        conn = netkit_msal.mail.imap(token, host=dovecot.host, port=dovecot.ports["imaps"],
                                     ca_file=emu.ca_file)

Dovecot's oauth2 passdb validates each JWT locally (signature with the emulator's public key,
issuer, ``aud`` = Outlook, user, expiry), then asks the harness (``_mail_doors``) whether the token
holds the protocol's permission, so logins are refused for the same reasons Exchange Online refuses
them; XOAUTH2 only, and only after TLS. Submission relays to a small SMTP sink that refuses sending as
another address (SendAsDenied) and hands each message to Dovecot's LMTP socket; ``messages`` records
each envelope (MAIL FROM, RCPT TO) as it left the submission server. With an emulator, the Graph
mailboxes and Dovecot's are one (``_mailbox_bridge``). The refusal causes that clients never see are
in ``log_text()`` and ``permission_refusals``.
"""

from __future__ import annotations

import asyncio
import atexit
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .._exceptions import ConfigError, NetKitError
from ._mail_doors import AuthLineProxy, PermissionCheck, send_as_refusal
from ._mailbox_bridge import MailboxBridge
from ._tokens import v1_issuer

OUTLOOK_AUDIENCE = "https://outlook.office.com"
#: How to get Dovecot on Debian or Ubuntu.
INSTALL_HINT = "apt-get install -y dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-lmtpd"
_TEMPLATES = Path(__file__).parent
_START_ATTEMPTS = 3
# Longest base_dir whose sockets (up to "token-login/imap-urlauth") fit in sun_path's 107 bytes.
_MAX_BASE_DIR = 80
# listener name -> (greeting, implicit TLS)
_LISTENERS = {
    "imap": (b"* OK", False), "imaps": (b"* OK", True), "pop3": (b"+OK", False), "pop3s": (b"+OK", True),
    "submission": (b"220", False), "submissions": (b"220", True),
}


@dataclass(frozen=True)
class RelayedMessage:
    """One message as Dovecot's submission service relayed it (the SMTP envelope and content)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


def dovecot_binary() -> Optional[str]:
    """Path of the ``dovecot`` program, or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


class DovecotServer:
    """Dovecot (IMAP, POP3, submission, LMTP) plus the relay sink, started and stopped together.

    ``emu`` supplies issuer, signing key, app client ids and a server certificate; the keyword
    arguments replace them (e.g. to test against a key of your own). ``workdir`` holds the config,
    keys, mail, sockets and log; a temporary one (removed at stop) when None. Running as root,
    Dovecot's processes drop to the ``dovecot``/``dovenull`` users, so ``workdir`` and its parents
    must be traversable by them. ``full_access`` maps a shared mailbox to the one user who may
    open it with their own token (Exchange's FullAccess permission).
    """

    #: Not 127.0.0.1: Dovecot counts a connection whose two ends share an address as secure, and would
    #: then take tokens over clear text, which Exchange never does.
    host = "127.0.0.2"

    def __init__(
        self,
        emu: Any = None,
        workdir: Optional[os.PathLike | str] = None,
        *,
        issuer: Optional[str] = None,
        signing_public_key_pem: Optional[str] = None,
        kid: Optional[str] = None,
        client_ids: Optional[Iterable[str]] = None,
        certificate: Optional[tuple[str, str]] = None,
        audience: str = OUTLOOK_AUDIENCE,
        username_attribute: str = "upn",
        full_access: Optional[Mapping[str, str]] = None,
        oauthbearer: bool = False,
        one_mailbox: bool = True,
        start_timeout: float = 20.0,
    ) -> None:
        self.issuer = issuer or (v1_issuer(emu.tenant_id) if emu is not None else None)
        self.signing_public_key_pem = signing_public_key_pem or getattr(emu, "signing_public_key_pem", None)
        self.kid = kid or getattr(emu, "kid", None)
        if client_ids is None and emu is not None:
            client_ids = list(emu.directory.apps)
        self.client_ids = list(client_ids or [])
        missing = [name for name, value in (("issuer", self.issuer), ("signing_public_key_pem",
                   self.signing_public_key_pem), ("kid", self.kid), ("client_ids", self.client_ids)) if not value]
        if missing:
            raise ConfigError(f"DovecotServer needs an emulator or {', '.join(missing)}", key=missing[0])
        self._emu = emu
        self._certificate = certificate
        self.audience = audience
        self.username_attribute = username_attribute
        self.full_access = dict(full_access or {})
        #: Exchange Online offers XOAUTH2 only; True also offers OAUTHBEARER (for a test that wants it).
        self.oauthbearer = bool(oauthbearer)
        #: Keep the emulator's Graph mailboxes and Dovecot's as one (see _mailbox_bridge); needs ``emu``.
        self.one_mailbox = bool(one_mailbox) and emu is not None
        self._bridge: Optional[MailboxBridge] = None
        self.start_timeout = start_timeout
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else None
        self.ports: dict[str, int] = {}
        self.messages: list[RelayedMessage] = []
        self.relay_errors: list[str] = []
        #: What clients must trust: the emulator's CA, or the certificate given (self-signed).
        self.ca_file: Optional[str] = getattr(emu, "ca_file", None) or (certificate[0] if certificate else None)
        self._process: Optional[subprocess.Popen] = None
        self._relay: Optional[_RelaySink] = None
        self._permission: Optional[PermissionCheck] = None
        self._proxies: list[AuthLineProxy] = []
        #: default_internal_user, default_internal_group, default_login_user (set at start)
        self._users = ("", "", "")

    # -- paths ------------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self._dir / "dovecot.log"

    @property
    def lmtp_socket(self) -> Path:
        return self._dir / "run" / "lmtp"

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise NetKitError("the Dovecot server is not started")
        return self.workdir

    # -- life cycle -------------------------------------------------------------------------
    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> DovecotServer:
        binary = dovecot_binary()
        if binary is None:
            raise FileNotFoundError(f"dovecot is not installed; install it with: {INSTALL_HINT}")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="netkit-dovecot-"))
        try:
            self._prepare()
            send_as = {delegate.lower(): [shared] for shared, delegate in self.full_access.items()}
            self._relay = _RelaySink(self.lmtp_socket, self.messages, self.relay_errors, send_as)
            self._relay.start()
            if self._emu is not None:
                self._permission = PermissionCheck(self._emu.verify_access_token, self.username_attribute)
                self._permission.start()
            for attempt in range(1, _START_ATTEMPTS + 1):
                self._write_config(self._relay.port)
                self._launch(binary)
                try:
                    self._wait_for_greetings()
                    self._front_submission()
                    break
                except NetKitError:
                    # Another program may have taken a port between our choice and Dovecot's bind.
                    if attempt == _START_ATTEMPTS or "Address already in use" not in self._tail():
                        raise
                    self._stop_process()  # no part of the failed instance may serve the next one
            if self.one_mailbox:
                self._bridge = MailboxBridge(
                    self._emu.graph, host=self.host, port=self.ports["imaps"], ca_file=str(self.ca_file),
                    delegates=self.full_access, token_for=self._bridge_token)
                try:
                    self._bridge.start()
                except (OSError, imaplib.IMAP4.error) as error:
                    raise NetKitError(f"the Graph mailbox bridge could not log in to Dovecot ({error}):\n"
                                      f"{self._tail()}") from error
                if self._relay is not None:
                    self._relay.on_sent = self._bridge.save_sent
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)  # a script or kernel that ends without stop() leaves no Dovecot behind
        return self

    def _bridge_token(self, upn: str) -> str:
        """The bridge's own IMAP token, stamped a minute back (as Entra backdates for clock skew): a Dovecot
        auth process just started may still read the previous second as now and call a token minted this
        second "not valid yet" (seen in CI: "Local validation failed: Token is not valid yet")."""
        assert self._emu is not None
        stamp = int(time.time()) - 60
        return self._emu.mint_access_token(upn, scopes=[f"{OUTLOOK_AUDIENCE}/IMAP.AccessAsUser.All"],
                                           iat=stamp, nbf=stamp)

    def _stop_process(self) -> None:
        """Stop the running Dovecot and whatever is left of its process group (a master that failed to bind
        may leave its log or auth process behind for a moment)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if process.poll() is None:
            process.wait(timeout=5)

    def _launch(self, binary: str) -> None:
        run = self._dir / "run"
        if run.exists():  # a stale socket there adds seconds to start-up
            shutil.rmtree(run)
        run.mkdir()
        with open(self._dir / "stderr.log", "wb") as stderr:
            # its own process group, so that a Dovecot that ignores SIGTERM can be killed whole
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self._dir / "dovecot.conf")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
            )

    def stop(self) -> None:
        """Stop Dovecot (by its PID) and the relay sink; remove a temporary workdir."""
        atexit.unregister(self.stop)
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.stop()
        self._stop_process()
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.stop()
        permission, self._permission = self._permission, None
        if permission is not None:
            permission.stop()
        proxies, self._proxies = self._proxies, []
        for proxy in proxies:
            proxy.stop()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- what tests look at -----------------------------------------------------------------
    def log_text(self, since: int = 0) -> str:
        """Dovecot's log (from byte offset ``since``: take ``log_size()`` before an action)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def permission_refusals(self) -> list[str]:
        """Why the permission check refused logins so far (service and missing permission; never a token)."""
        return list(self._permission.refusals) if self._permission is not None else []

    def deliver(self, recipient: str, message: bytes, mail_from: str = "postmaster@localhost") -> None:
        """Put a message straight into ``recipient``'s INBOX through LMTP (no login needed)."""
        _deliver_lmtp(self.lmtp_socket, mail_from, [recipient], message)

    # -- internals --------------------------------------------------------------------------
    def _prepare(self) -> None:
        root = self._dir
        if len(str(root / "run")) > _MAX_BASE_DIR:
            raise ConfigError(
                f"workdir {root} is too long: Dovecot's sockets in it would exceed the 107-byte limit of "
                "Unix socket paths; use a shorter one (or none: a temporary one)", key="workdir")
        for sub in ("state", "keys", "mail", "tls"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # Dovecot looks the key up under the token's azp; v1 tokens (Exchange's) have none: "default".
        for client_id in [*self.client_ids, "default"]:
            key_file = root / "keys" / client_id / "RS256" / str(self.kid)
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(str(self.signing_public_key_pem))
        full_access = root / "full-access"
        full_access.write_text("".join(
            # passwd-file: user:password:uid:gid:gecos:home:shell:extra fields
            f"{shared}:::::::nopassword user={delegate} userdb_home={root / 'mail' / shared.lower()}\n"
            for shared, delegate in self.full_access.items()))
        full_access.chmod(0o644)
        if self._certificate is None:
            if self._emu is None:
                raise ConfigError("DovecotServer needs an emulator or a certificate", key="certificate")
            self._certificate = self._emu.issue_server_certificate((self.host, "127.0.0.1", "localhost"),
                                                                   directory=root / "tls")
        if os.geteuid() == 0:
            self._users = ("dovecot", "dovecot", "dovenull")
            mail_user = pwd.getpwnam("dovecot")
            root.chmod(0o755)
            _check_traversable(root, mail_user.pw_uid, mail_user.pw_gid)
            for sub in ("keys", "mail"):
                for path in [root / sub, *(root / sub).rglob("*")]:
                    os.chown(path, mail_user.pw_uid, mail_user.pw_gid)
        else:
            me = pwd.getpwuid(os.geteuid())
            self._users = (me.pw_name, grp.getgrgid(os.getegid()).gr_name, me.pw_name)

    def _write_config(self, relay_port: int) -> None:
        root = self._dir
        self.ports = dict(zip(_LISTENERS, _free_ports(len(_LISTENERS), self.host)))
        internal_user, internal_group, login_user = self._users
        mechanisms = "xoauth2 oauthbearer" if self.oauthbearer else "xoauth2"
        assert self._certificate is not None, "the certificate is made before the configuration"
        values = {
            "host": self.host, "mechanisms": mechanisms, "permission_passdb": self._permission_passdb(mechanisms),
            "instance_name": f"netkit-msal-{os.getpid()}-{id(self):x}",
            "base_dir": root / "run", "state_dir": root / "state", "log_path": self.log_path,
            "internal_user": internal_user, "internal_group": internal_group, "login_user": login_user,
            "mail_uid": internal_user, "mail_gid": internal_group,
            "ssl_cert": self._certificate[0], "ssl_key": self._certificate[1],
            "oauth2_conf": root / "dovecot-oauth2.conf", "mail_dir": root / "mail",
            "full_access_file": root / "full-access",
            "relay_port": relay_port, **{f"{name}_port": port for name, port in self.ports.items()},
        }
        (root / "dovecot.conf").write_text(_render("dovecot.conf.template", values))
        (root / "dovecot-oauth2.conf").write_text(_render("dovecot-oauth2.conf.template", {
            "keys_dir": root / "keys", "username_attribute": self.username_attribute,
            "issuer": self.issuer, "audience": self.audience,
        }))
        if self._permission is not None:
            (root / "dovecot-permission.conf").write_text(
                f"introspection_mode = post\nintrospection_url = {self._permission.url}\n"
                f"send_auth_headers = yes\nusername_attribute = {self.username_attribute}\n"
                "username_format = %Lu\nactive_attribute = active\nactive_value = true\n")

    def _permission_passdb(self, mechanisms: str) -> str:
        """The second oauth2 passdb: the emulator says whether the token holds the protocol's permission."""
        if self._permission is None:
            return ""
        return ("passdb {\n  driver = oauth2\n  mechanisms = " + mechanisms + "\n  args = "
                + str(self._dir / "dovecot-permission.conf") + "\n}\n")

    def _front_submission(self) -> None:
        """Put the AUTH-line proxies in front of Dovecot's submission listeners (clients see their ports)."""
        for proxy in self._proxies:
            proxy.stop()
        self._proxies = []
        assert self._certificate is not None and self.ca_file is not None
        for name in ("submission", "submissions"):
            proxy = AuthLineProxy(self.host, self.ports[name], implicit_tls=_LISTENERS[name][1],
                                  certificate=self._certificate, ca_file=self.ca_file)
            proxy.start()
            self._proxies.append(proxy)
            self.ports[name] = proxy.port

    def _wait_for_greetings(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        process = self._process
        for name, port in self.ports.items():
            greeting, implicit_tls = _LISTENERS[name]
            while True:
                if process is None or process.poll() is not None:
                    status = process.returncode if process else None
                    raise NetKitError(f"dovecot exited with status {status}:\n{self._tail()}")
                if _greets(self.host, port, greeting, insecure if implicit_tls else None):
                    break
                if time.monotonic() > deadline:
                    raise NetKitError(f"dovecot did not greet on {name} port {port} within "
                                      f"{self.start_timeout:g} s:\n{self._tail()}")
                time.sleep(0.05)

    def _tail(self) -> str:
        stderr = self._dir / "stderr.log"
        text = stderr.read_text(errors="replace") if stderr.exists() else ""
        return (text + self.log_text())[-4000:]


def _render(template: str, values: dict[str, Any]) -> str:
    text = (_TEMPLATES / template).read_text()

    def substitute(match: re.Match) -> str:
        return str(values[match.group(1)])

    return re.sub(r"@([a-z0-9_]+)@", substitute, text)


def _free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _greets(host: str, port: int, greeting: bytes, context: Optional[ssl.SSLContext]) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as raw:
            sock = context.wrap_socket(raw, server_hostname=host) if context else raw
            return sock.recv(256).startswith(greeting)
    except OSError:
        return False


def _check_traversable(path: Path, uid: int, gid: int) -> None:
    for folder in [path, *path.parents]:
        st = folder.stat()
        mode = st.st_mode
        if not (mode & 0o001 or (st.st_uid == uid and mode & 0o100) or (st.st_gid == gid and mode & 0o010)):
            raise ConfigError(
                f"Dovecot's users cannot enter {folder} (mode {oct(mode & 0o777)}): use a workdir under "
                "/tmp, or none (a temporary one)", key="workdir")


def _xtext_decode(text: str) -> str:
    """RFC 3461 xtext: ``+XX`` is the byte XX."""
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _deliver_lmtp(socket_path: Path, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
    with smtplib.LMTP(str(socket_path), timeout=10) as lmtp:
        lmtp.sendmail(mail_from, rcpt_tos, content)


class _RelaySink:
    """The SMTP server Dovecot's submission relays to: records each envelope, delivers via LMTP."""

    def __init__(self, lmtp_socket: Path, messages: list[RelayedMessage], errors: list[str],
                 send_as: Mapping[str, list[str]]) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP, AuthResult

        class _LongLinesSMTP(SMTP):
            # aiosmtpd's stock limits (1001-byte lines, 512-byte commands) are below what mail carries.
            line_length_limit = 1 << 20
            command_size_limit = 1 << 16

            def _getparams(self, params: Any) -> Any:
                # Dovecot names the logged-in user in MAIL FROM's AUTH= (RFC 4954) to a trusted relay that
                # offers AUTH: the send-as check needs it.
                result = super()._getparams(params)
                if result is not None and "AUTH" in result:
                    login = _xtext_decode(str(result.pop("AUTH"))).lower()
                    self.session.netkit_login = login  # type: ignore[union-attr]  # our attribute on aiosmtpd's
                return result

        sink = self

        class _Controller(Controller):
            def factory(self) -> SMTP:
                return _LongLinesSMTP(self.handler, **self.SMTP_kwargs)

        self._lmtp_socket = lmtp_socket
        self._messages = messages
        self._errors = errors
        self._send_as = send_as
        #: Told (login, content) of each delivered message: the bridge saves it to the sender's Sent Items.
        self.on_sent: Optional[Callable[[str, bytes], None]] = None
        self._lock = threading.Lock()
        self.port = _free_ports(1)[0]
        self._controller = _Controller(sink, hostname="127.0.0.1", port=self.port, server_hostname="localhost",
                                       auth_require_tls=False, authenticator=lambda *args: AuthResult(success=False))

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        # With enhanced status codes announced, Dovecot relays "5.2.252 SendAsDenied" as is.
        session.host_name = hostname
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = RelayedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        login = getattr(session, "netkit_login", None)
        if not login:
            return "554 5.7.0 the relay was not told who logged in (MAIL FROM without AUTH=)"
        refusal = send_as_refusal(login, message.mail_from, message.content, self._send_as)
        if refusal:
            return refusal
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, _deliver_lmtp, self._lmtp_socket, message.mail_from, list(message.rcpt_tos), message.content)
        except (OSError, smtplib.SMTPException) as exc:
            with self._lock:
                self._errors.append(f"LMTP delivery failed: {exc}")
            return "451 4.3.0 local delivery failed"
        with self._lock:
            self._messages.append(message)
        if self.on_sent is not None:  # Exchange keeps what a user sent over SMTP in their Sent Items
            await asyncio.get_running_loop().run_in_executor(None, self.on_sent, login, message.content)
        return "250 Delivered"
