"""Mail that goes through: SMTP submission to IMAP and POP3, shared mailboxes, and the 4D-style check."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from email.message import EmailMessage

import pytest
from mail_support import ADELE, MEGAN, SHARED

from netkit_msal import ConfigError, MailAuthError, mail


def message(sender: str, recipient: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, recipient, f"netkit-msal test {uuid.uuid4().hex}"
    msg.set_content("Sent over SMTP with an OAuth 2.0 token.")
    return msg


def options(dovecot, listener, tls="starttls"):
    return dict(host=dovecot.host, port=dovecot.ports[listener], tls=tls, ca_file=dovecot.ca_file, timeout=10)


def test_a_message_sent_over_smtp_is_read_over_imap_and_pop3(dovecot, mint):
    msg = message(ADELE, MEGAN)
    with mail.smtp(mint(ADELE), **options(dovecot, "submission")) as smtp:
        smtp.send_message(msg)

    imap = mail.imap(mint(MEGAN), **options(dovecot, "imaps", "implicit"))
    try:
        imap.select("INBOX")
        typ, found = imap.search(None, "SUBJECT", f'"{msg["Subject"]}"')
        assert typ == "OK" and len(found[0].split()) == 1
        _, data = imap.fetch(found[0].split()[0], "(RFC822)")
        assert b"Sent over SMTP with an OAuth 2.0 token." in data[0][1]
    finally:
        imap.logout()

    pop = mail.pop3(mint(MEGAN), **options(dovecot, "pop3s", "implicit"))
    try:
        bodies = [b"\n".join(pop.retr(i + 1)[1]) for i in range(pop.stat()[0])]
        assert any(msg["Subject"].encode() in body for body in bodies)
    finally:
        pop.quit()


def test_smtp_for_a_shared_mailbox_logs_in_as_the_delegate_and_sends_from_the_shared_address(dovecot, mint, server_log):
    msg = message(SHARED, MEGAN)
    with mail.smtp(mint(ADELE), shared_mailbox=SHARED, **options(dovecot, "submission")) as smtp:
        smtp.send_message(msg)
    relayed = dovecot.messages[-1]
    assert relayed.mail_from == SHARED
    assert relayed.rcpt_tos == (MEGAN,)
    assert f"Login: user=<{ADELE}>" in server_log()


def test_imap_and_pop3_open_a_shared_mailbox_as_the_shared_address_with_the_delegates_token(dovecot, mint):
    # Dovecot grants Adele FullAccess to the shared mailbox (conftest), as an Exchange admin would:
    # the SASL user is the shared address, the token Adele's, and the mailbox opened is the shared one.
    subject = f"for the sales team {uuid.uuid4().hex}"
    dovecot.deliver(SHARED, f"Subject: {subject}\r\n\r\nHello sales.\r\n".encode())
    imap = mail.imap(mint(ADELE), shared_mailbox=SHARED, **options(dovecot, "imap"))
    try:
        imap.select("INBOX")
        assert imap.search(None, "SUBJECT", f'"{subject}"')[1][0].split()
    finally:
        imap.logout()
    pop = mail.pop3(mint(ADELE), shared_mailbox=SHARED, **options(dovecot, "pop3s", "implicit"))
    try:
        assert any(subject.encode() in b"\n".join(pop.top(i + 1, 0)[1]) for i in range(pop.stat()[0]))
    finally:
        pop.quit()


@pytest.mark.parametrize("opener, listener", [(mail.imap, "imap"), (mail.pop3, "pop3")])
def test_a_shared_mailbox_refuses_a_user_without_access(dovecot, mint, server_log, opener, listener):
    with pytest.raises(MailAuthError) as caught:
        opener(mint(MEGAN), shared_mailbox=SHARED, **options(dovecot, listener))
    assert f"belongs to {MEGAN}, not {SHARED}" in str(caught.value)
    assert f"did not match '{MEGAN}'" in server_log()


def test_check_connection_reports_success_and_refusal_in_4d_shape(dovecot, mint, mail_emulator):
    ok = mail.check_connection("imap", mint(), **options(dovecot, "imap"))
    assert ok == {"success": True, "status": 0, "statusText": "OK Logged in", "errors": []}

    refused = mail.check_connection("pop3", mint(MEGAN), user=ADELE, **options(dovecot, "pop3"))
    assert refused["success"] is False
    assert refused["errors"][0]["errCode"] == 8 and refused["errors"][0]["componentSignature"] == "4DNK"
    assert "-ERR [AUTH] Authentication failed." in refused["statusText"]

    wrong_audience = mail.check_connection("smtp", mint(scopes=["https://graph.microsoft.com/Mail.Send"]),
                                           **options(dovecot, "submission"))
    assert wrong_audience["success"] is False
    assert "https://outlook.office.com/SMTP.Send" in wrong_audience["errors"][0]["message"]

    with pytest.raises(ConfigError):
        mail.check_connection("imap", mint(), **dict(options(dovecot, "imap"), tls="ssl"))


def run_cli(*args: str) -> tuple[int, dict, str]:
    done = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "mail-check", *args],
                          capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stdout + done.stderr


@pytest.mark.parametrize("protocol, listener", [("imap", "imap"), ("smtp", "submission"), ("pop3", "pop3")])
def test_mail_check_command_prints_4d_status_and_exits_0_or_1(dovecot, mint, tmp_path, protocol, listener):
    good, expired = tmp_path / "good.txt", tmp_path / "token.json"
    token = mint()
    good.write_text(token)
    expired.write_text(json.dumps({"token": {"access_token": mint(exp=1_000_000_000)},
                                   "tokenExpiration": "2001-09-09T01:46:40Z"}))
    common = ["--host", dovecot.host, "--port", str(dovecot.ports[listener]), "--tls", "starttls",
              "--ca-file", dovecot.ca_file]

    status, result, output = run_cli(protocol, "--token-file", str(good), *common)
    assert (status, result["success"], result["errors"]) == (0, True, []), output
    assert token not in output

    status, result, output = run_cli(protocol, "--token-file", str(expired), *common)
    assert status == 1 and result["success"] is False, output
    assert "expired" in result["errors"][0]["message"]
    assert "Authentication failed" in result["statusText"]
