"""Logins against a real Dovecot that validates the emulator's JWTs like Exchange Online would."""

from __future__ import annotations

import socket
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mail_support import ADELE, IMAP_SCOPE, MEGAN, POP_SCOPE, SMTP_SCOPE

from netkit_msal import FlowTimeoutError, MailAuthError, mail
from netkit_msal.mail import TokenAudienceError

OPENERS = {"imap": mail.imap, "pop3": mail.pop3, "smtp": mail.smtp}
# (protocol, tls) -> Dovecot listener
LISTENERS = {
    ("imap", "implicit"): "imaps", ("imap", "starttls"): "imap", ("imap", "none"): "imap",
    ("pop3", "implicit"): "pop3s", ("pop3", "starttls"): "pop3", ("pop3", "none"): "pop3",
    ("smtp", "implicit"): "submissions", ("smtp", "starttls"): "submission", ("smtp", "none"): "submission",
}


def connect(dovecot, protocol, source, tls="starttls", **kwargs):
    return OPENERS[protocol](source, host=dovecot.host, port=dovecot.ports[LISTENERS[protocol, tls]], tls=tls,
                             ca_file=dovecot.ca_file, timeout=10, **kwargs)


def close(conn):
    if hasattr(conn, "logout"):
        conn.logout()
    else:
        conn.quit()


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
@pytest.mark.parametrize("protocol", ["imap", "pop3", "smtp"])
def test_a_valid_token_logs_in(dovecot, mint, protocol, tls):
    # XOAUTH2 only, as Exchange Online (OAUTHBEARER: tests/mail_doors)
    conn = connect(dovecot, protocol, mint(), tls=tls, mechanism="XOAUTH2")
    try:
        assert "Logged in" in conn.login_response
        if protocol == "imap":
            assert conn.state == "AUTH"
            assert conn.select("INBOX")[0] == "OK"
        elif protocol == "pop3":
            assert isinstance(conn.stat()[0], int)
        else:
            assert conn.noop()[0] == 250
    finally:
        close(conn)


def test_smtp_tokens_are_longer_than_dovecots_auth_line_and_log_in_anyway(dovecot, mint):
    # Dovecot alone refuses AUTH lines over 1026 bytes; Exchange takes them (tests/mail_doors sends one).
    token = mint()
    assert len(mail.xoauth2_string(ADELE, token)) * 4 // 3 > 1026
    close(connect(dovecot, "smtp", token))


def foreign_key_token(valid_token: str) -> str:
    """The same claims and kid, signed by a key the server does not know."""
    claims = jwt.decode(valid_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(valid_token)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"], "typ": "JWT"})


REFUSALS = {
    # case -> (token factory, login user, what Dovecot logs, what our message says)
    "expired": (lambda mint: mint(exp=int(time.time()) - 120), None, "Token has expired", "expired"),
    "wrong user": (lambda mint: mint(), MEGAN, "did not match", f"belongs to {ADELE}, not {MEGAN}"),
    "foreign key": (lambda mint: foreign_key_token(mint()), None, "signature", "refused"),
}


@pytest.mark.parametrize("case", REFUSALS)
@pytest.mark.parametrize("protocol", ["imap", "pop3", "smtp"])
def test_a_bad_token_is_refused_with_a_clear_error(dovecot, mint, server_log, protocol, case):
    make_token, user, server_cause, our_words = REFUSALS[case]
    with pytest.raises(MailAuthError) as caught:
        connect(dovecot, protocol, make_token(mint), user=user)
    error = caught.value
    assert our_words in str(error)
    assert error.challenge == {"status": "401", "schemes": "bearer", "scope": "mail"}
    assert "Authentication failed" in error.server_response
    assert not isinstance(error, TokenAudienceError)
    assert server_cause.lower() in server_log().lower()


@pytest.mark.parametrize("protocol, scope", [("imap", IMAP_SCOPE), ("pop3", POP_SCOPE), ("smtp", SMTP_SCOPE)])
def test_a_graph_token_is_refused_before_connecting(mint, protocol, scope):
    graph_token = mint(scopes=["https://graph.microsoft.com/Mail.Read"])
    with socket.socket() as placeholder:  # a port nobody listens on: connecting would raise another error
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with pytest.raises(TokenAudienceError) as caught:
        OPENERS[protocol](graph_token, host="127.0.0.1", port=port, tls="none")
    assert caught.value.scope == scope
    assert scope in str(caught.value)


def test_an_outlook_token_without_the_protocols_permission_is_refused_before_connecting(mint):
    with pytest.raises(TokenAudienceError, match="IMAP.AccessAsUser.All"):
        mail.imap(mint(scopes=[SMTP_SCOPE]), host="127.0.0.1", port=1, tls="none")


def test_a_silent_server_times_out_instead_of_hanging(mint):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        for opener in OPENERS.values():
            with pytest.raises(FlowTimeoutError):
                opener(mint(), host="127.0.0.1", port=silent.getsockname()[1], tls="none", timeout=0.3)


def test_reopen_logs_in_again_with_a_fresh_token(dovecot, mint):
    conn = connect(dovecot, "imap", mint())
    fresh = conn.reopen(mint())
    try:
        assert fresh is not conn and fresh.state == "AUTH"
        assert fresh.select("INBOX")[0] == "OK"
    finally:
        fresh.logout()
    for protocol in ("pop3", "smtp"):
        close(connect(dovecot, protocol, mint()).reopen(mint()))


def test_reopen_asks_the_provider_again(dovecot, mint):
    class Provider:  # the provider interface the mail module uses: get_token(scopes=[...]) and username
        username = ADELE

        def __init__(self):
            self.asked = []

        def get_token(self, scopes=None):
            self.asked.append(list(scopes))
            return type("Token", (), {"access_token": mint(scopes=scopes), "username": ADELE})()

    provider = Provider()
    conn = connect(dovecot, "pop3", provider)
    close(conn.reopen())
    assert provider.asked == [[POP_SCOPE], [POP_SCOPE]]
