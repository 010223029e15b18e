"""The bundled Dovecot's doors hold Exchange Online's rules, tried with Python's own mail clients."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import ssl

import pytest
from doors_support import ADELE, MEGAN, SHARED, b64, mime, unique_subject, xoauth2

from netkit_msal.emulator.dovecot import DovecotServer


def tls(doors) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=doors.ca_file)


def test_xoauth2_is_the_only_mechanism_offered_and_only_after_tls(doors):
    imap = imaplib.IMAP4(doors.host, doors.ports["imap"], timeout=10)
    try:
        assert "LOGINDISABLED" in imap.capabilities and not any(c.startswith("AUTH=") for c in imap.capabilities)
        imap.starttls(ssl_context=tls(doors))
        assert [c for c in imap.capabilities if c.startswith("AUTH=")] == ["AUTH=XOAUTH2"]
    finally:
        imap.logout()
    with smtplib.SMTP(doors.host, doors.ports["submission"], timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        smtp.starttls(context=tls(doors))
        smtp.ehlo()
        assert smtp.esmtp_features["auth"].split() == ["XOAUTH2"]
    pop = poplib.POP3(doors.host, doors.ports["pop3"], timeout=10)
    try:
        assert pop.capa().get("SASL", []) == []
        pop.stls(context=tls(doors))
        assert pop.capa()["SASL"] == ["XOAUTH2"]
    finally:
        pop.quit()


def test_a_valid_token_is_refused_over_clear_text(doors, outlook_token):
    imap = imaplib.IMAP4(doors.host, doors.ports["imap"], timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.authenticate("XOAUTH2", lambda _: xoauth2(ADELE, outlook_token()).encode())
    finally:
        imap.logout()
    with smtplib.SMTP(doors.host, doors.ports["submission"], timeout=10) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("AUTH", "XOAUTH2 " + b64(xoauth2(ADELE, outlook_token())))
        assert code >= 500
    pop = poplib.POP3(doors.host, doors.ports["pop3"], timeout=10)
    try:
        with pytest.raises(poplib.error_proto, match="SSL/TLS"):
            pop._shortcmd("AUTH XOAUTH2 " + b64(xoauth2(ADELE, outlook_token())))
    finally:
        pop.quit()


def test_smtplib_with_default_settings_sends_the_token_on_the_auth_line_and_logs_in(doors, outlook_token):
    response = xoauth2(ADELE, outlook_token(ADELE, "SMTP.Send"))
    assert len("AUTH XOAUTH2 " + b64(response)) > 1026  # longer than Dovecot's own limit
    with smtplib.SMTP(doors.host, doors.ports["submission"], timeout=10) as smtp:
        smtp.starttls(context=tls(doors))
        code, _ = smtp.auth("XOAUTH2", lambda challenge=None: response if challenge is None else "")
        assert code == 235
    with smtplib.SMTP_SSL(doors.host, doors.ports["submissions"], timeout=10, context=tls(doors)) as smtp:
        assert smtp.auth("XOAUTH2", lambda challenge=None: response if challenge is None else "")[0] == 235


@pytest.mark.parametrize("protocol, held", [("imap", "SMTP.Send"), ("pop3", "IMAP.AccessAsUser.All"),
                                            ("smtp", "POP.AccessAsUser.All")])
def test_a_token_without_the_protocols_permission_is_refused(doors, outlook_token, protocol, held):
    token = outlook_token(ADELE, held)
    before = len(doors.permission_refusals)
    if protocol == "imap":
        with imaplib.IMAP4_SSL(doors.host, doors.ports["imaps"], ssl_context=tls(doors), timeout=10) as imap:
            with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
                imap.authenticate("XOAUTH2", lambda _: xoauth2(ADELE, token).encode())
    elif protocol == "pop3":
        pop = poplib.POP3_SSL(doors.host, doors.ports["pop3s"], context=tls(doors), timeout=10)
        try:
            reply = pop._shortcmd("AUTH XOAUTH2 " + b64(xoauth2(ADELE, token)))
            if reply.startswith(b"+"):  # the error challenge: answer it with an empty line
                with pytest.raises(poplib.error_proto, match="AUTH"):
                    pop._shortcmd("")
            else:
                pytest.fail(f"POP3 accepted a token without POP.AccessAsUser.All: {reply!r}")
        finally:
            pop.close()
    else:
        with smtplib.SMTP(doors.host, doors.ports["submission"], timeout=10) as smtp:
            smtp.starttls(context=tls(doors))
            with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
                smtp.auth("XOAUTH2", lambda challenge=None: xoauth2(ADELE, token) if challenge is None else "")
            assert caught.value.smtp_code == 535
    assert len(doors.permission_refusals) == before + 1
    assert "lacks" in doors.permission_refusals[-1]


def smtp_session(doors, user: str, token: str) -> smtplib.SMTP:
    smtp = smtplib.SMTP(doors.host, doors.ports["submission"], timeout=10)
    smtp.starttls(context=tls(doors))
    smtp.auth("XOAUTH2", lambda challenge=None: xoauth2(user, token) if challenge is None else "")
    return smtp


@pytest.mark.parametrize("envelope, header", [(MEGAN, MEGAN), (ADELE, MEGAN)], ids=["envelope", "from-header"])
def test_sending_as_someone_else_is_refused_with_exchanges_answer(doors, outlook_token, envelope, header):
    with smtp_session(doors, ADELE, outlook_token(ADELE, "SMTP.Send")) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            smtp.sendmail(envelope, [ADELE], mime(header, ADELE, unique_subject("send as")))
    assert caught.value.smtp_code == 554
    assert caught.value.smtp_error.decode().startswith(
        f"5.2.252 SendAsDenied; {ADELE} not allowed to send as {MEGAN}")


def test_a_delegate_sends_as_the_shared_mailbox_it_was_granted(doors, outlook_token):
    with smtp_session(doors, ADELE, outlook_token(ADELE, "SMTP.Send")) as smtp:
        assert smtp.sendmail(SHARED, [MEGAN], mime(SHARED, MEGAN, unique_subject("from sales"))) == {}


def test_oauthbearer_is_offered_only_when_a_test_asks_for_it(doors, doors_emulator, outlook_token):
    with imaplib.IMAP4_SSL(doors.host, doors.ports["imaps"], ssl_context=tls(doors), timeout=10) as imap:
        with pytest.raises(imaplib.IMAP4.error, match="(?i)unsupported"):
            imap.authenticate("OAUTHBEARER", lambda _: b"n,a=x,\x01auth=Bearer x\x01\x01")
    with DovecotServer(doors_emulator, oauthbearer=True) as generous:
        with imaplib.IMAP4_SSL(generous.host, generous.ports["imaps"], ssl_context=tls(generous),
                               timeout=10) as imap:
            assert {"AUTH=XOAUTH2", "AUTH=OAUTHBEARER"} <= set(imap.capabilities)
            bearer = f"n,a={ADELE},\x01host={generous.host}\x01port={generous.ports['imaps']}\x01" \
                     f"auth=Bearer {outlook_token()}\x01\x01"
            assert imap.authenticate("OAUTHBEARER", lambda _: bearer.encode())[0] == "OK"
