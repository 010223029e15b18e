"""A server that quotes the client's AUTH line back never gets the token shown (message, attributes, CLI).

Dovecot never echoes what it was sent, so these tests talk to careless loopback servers (one per
protocol) that put the received base64 SASL string, its decoded form and a truncated piece of it
in their refusal, in their error challenge, and in their "logged in" answer.
"""

from __future__ import annotations

import base64
import json
import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from mail_support import ADELE

from netkit_msal import MailAuthError, mail
from netkit_msal.cli import main
from netkit_msal.mail._common import REDACTED, login_secrets, redact
from netkit_msal.mail._sasl import b64

OPENERS = {"imap": mail.imap, "pop3": mail.pop3, "smtp": mail.smtp}
OPAQUE = "opaque-access-token-0123456789-abcdefghij"


class _Echoing(socketserver.StreamRequestHandler):
    """Refuses (or, with ``accept``, takes) every OAuth 2.0 login, quoting what the client sent."""

    protocol = "imap"
    accept = False

    def send(self, line: str) -> None:
        self.wfile.write(line.encode("utf-8") + b"\r\n")

    def read(self) -> str:
        return self.rfile.readline(65536).decode("utf-8", "replace").strip()

    def echo(self, received: str) -> str:
        decoded = base64.b64decode(received).decode("utf-8", "replace")
        if self.protocol == "pop3":  # poplib reads lines of at most 2048 bytes
            return f"{received} part={received[:60]}"
        return f"{received} raw={decoded} part={received[:60]}"

    def challenge(self, received: str) -> str:
        decoded = base64.b64decode(received).decode("utf-8", "replace")
        return b64(json.dumps({"status": "401", "schemes": "bearer", "scope": "mail", "echo": decoded[:200]}))

    def handle(self) -> None:
        getattr(self, f"_{self.protocol}")()

    def _imap(self) -> None:
        self.send("* OK fake IMAP ready")
        while line := self.read():
            tag, _, command = line.partition(" ")
            verb = command.split(" ")[0].upper()
            if verb == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER")
                self.send(f"{tag} OK done")
            elif verb == "AUTHENTICATE":
                self.send("+ ")
                received = self.read()
                if self.accept:
                    self.send(f"{tag} OK Logged in as {self.echo(received)}")
                    continue
                self.send(f"+ {self.challenge(received)}")
                self.read()
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] failed for {self.echo(received)}")
            elif verb == "LOGOUT":
                self.send("* BYE")
                self.send(f"{tag} OK bye")
                return
            else:
                self.send(f"{tag} BAD unknown")

    def _pop3(self) -> None:
        self.send("+OK fake POP3 ready")
        while line := self.read():
            if line.upper().startswith("AUTH"):
                self.send("+ ")
                received = self.read()
                if self.accept:
                    self.send(f"+OK Logged in as {self.echo(received)}")
                    continue
                self.send(f"+ {self.challenge(received)}")
                self.read()
                self.send(f"-ERR [AUTH] failed for {self.echo(received)}")
            elif line.upper() == "QUIT":
                self.send("+OK bye")
                return
            else:
                self.send("-ERR unknown")

    def _smtp(self) -> None:
        self.send("220 fake SMTP ready")
        while line := self.read():
            words = line.split(" ")
            verb = words[0].upper()
            if verb == "EHLO":
                self.send("250-fake")
                self.send("250 AUTH XOAUTH2 OAUTHBEARER")
            elif verb == "AUTH":
                if len(words) > 2:  # the initial response on the AUTH line
                    received = words[2]
                else:
                    self.send("334 ")
                    received = self.read()
                if self.accept:
                    self.send(f"235 2.7.0 Accepted {self.echo(received)}")
                    continue
                self.send(f"334 {self.challenge(received)}")
                self.read()
                self.send(f"535 5.7.8 failed for {self.echo(received)}")
            elif verb == "QUIT":
                self.send("221 bye")
                return
            else:
                self.send("502 unknown")


@contextmanager
def echoing_server(protocol: str, *, accept: bool = False) -> Iterator[int]:
    handler = type("Handler", (_Echoing,), {"protocol": protocol, "accept": accept})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _decoded_runs(text: str) -> list[str]:
    decoded = []
    for run in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            decoded.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
        except ValueError:
            pass
    return decoded


def shows_the_token(token: str, *texts: str) -> bool:
    """Whether any text holds the token, or a 20-character piece of it, as is or in base64."""
    pieces = {token[i:i + 20] for i in range(0, len(token) - 20, 10)} | {token}
    views = [view for text in texts for view in (text, *_decoded_runs(text))]
    return any(piece in view for piece in pieces for view in views)


@pytest.fixture(params=["jwt", "opaque"])
def token(request, mint) -> str:
    return mint() if request.param == "jwt" else OPAQUE


def error_texts(error: BaseException) -> list[str]:
    return [str(error), repr(error), *map(str, error.args), *(str(v) for v in vars(error).values())]


# --- redact(): pure ----------------------------------------------------------------------------------------------

def test_redact_masks_the_token_the_sasl_string_its_base64_and_jwts_and_keeps_the_rest(mint):
    token = mint()
    sasl = mail.xoauth2_string(ADELE, token)
    other_jwt = mint(user="megan@contoso.example")
    text = (f"NO [AUTHENTICATIONFAILED] Authentication failed. session=<Y1bdnuXy8J0AAAAB> sent={b64(sasl)} "
            f"raw={sasl} part={b64(sasl)[:60]} jwt={other_jwt} short={b64(OPAQUE)[:20]}")
    shown = redact(text, login_secrets(token, sasl))
    assert not shows_the_token(token, shown) and not shows_the_token(other_jwt, shown)
    assert shown.startswith("NO [AUTHENTICATIONFAILED] Authentication failed. session=<Y1bdnuXy8J0AAAAB> sent=")
    assert shown.count(REDACTED) == 4  # sent, raw, part, jwt
    assert shown.endswith(f" short={b64(OPAQUE)[:20]}")  # a short run that reveals no secret stays
    assert redact("535 5.7.8 Authentication failed.", login_secrets(token, sasl)) == "535 5.7.8 Authentication failed."


def test_redact_masks_a_short_base64_run_that_decodes_to_a_secret():
    sasl = mail.xoauth2_string(ADELE, "token-0123456789")
    assert redact(f"NO {b64('token-0123456789')}", login_secrets("token-0123456789", sasl)) == f"NO {REDACTED}"
    assert redact("NO tok-1", login_secrets("tok-1", sasl)) == "NO tok-1"  # too short to be worth masking


# --- careless servers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("protocol", ["imap", "pop3", "smtp"])
def test_a_refusal_quoting_the_auth_line_never_shows_the_token(token, protocol, mechanism):
    with echoing_server(protocol) as port:
        with pytest.raises(MailAuthError) as caught:
            OPENERS[protocol](token, user=ADELE, host="127.0.0.1", port=port, tls="none", timeout=10,
                              mechanism=mechanism)
        result = mail.check_connection(protocol, token, user=ADELE, host="127.0.0.1", port=port, tls="none",
                                       timeout=10, mechanism=mechanism)
    error = caught.value
    assert "failed for" in error.server_response and REDACTED in error.server_response
    assert error.challenge["status"] == "401" and REDACTED in error.challenge["echo"]
    assert error.__context__ is None  # no client-library error holding the raw answer rides along
    assert result["success"] is False and "failed for" in result["statusText"]
    assert not shows_the_token(token, *error_texts(error), json.dumps(error.challenge), json.dumps(result))


@pytest.mark.parametrize("protocol", ["imap", "pop3", "smtp"])
def test_a_login_answer_quoting_the_auth_line_never_shows_the_token(token, protocol):
    with echoing_server(protocol, accept=True) as port:
        conn = OPENERS[protocol](token, user=ADELE, host="127.0.0.1", port=port, tls="none", timeout=10)
        try:
            login_response = conn.login_response
        finally:
            conn.logout() if protocol == "imap" else conn.quit()
        result = mail.check_connection(protocol, token, user=ADELE, host="127.0.0.1", port=port, tls="none",
                                       timeout=10)
    assert "Logged in as" in login_response or "Accepted" in login_response
    assert result["success"] is True
    assert not shows_the_token(token, login_response, json.dumps(result))


def test_mail_check_output_never_shows_an_echoed_token(mint, tmp_path, capsys):
    token = mint()
    token_file = tmp_path / "token.txt"
    token_file.write_text(token)
    with echoing_server("imap") as port:
        code = main(["mail-check", "imap", "--token-file", str(token_file), "--host", "127.0.0.1",
                     "--port", str(port), "--tls", "none", "--mechanism", "OAUTHBEARER"])
    out, err = capsys.readouterr()
    assert code == 1 and json.loads(out)["success"] is False
    assert REDACTED in out and not shows_the_token(token, out, err)
