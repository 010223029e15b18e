"""Mail clients nobody here wrote log in to the doors as they would to Exchange Online.

curl (IMAP and SMTP with ``--oauth2-bearer``), msmtp (``auth xoauth2``) and neomutt's SMTP (batch
send) put the SASL response on the AUTH line, after STARTTLS, with XOAUTH2: the Exchange way.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import ssl
import subprocess

import pytest
from doors_support import ADELE, MEGAN, mime, unique_subject


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (apt-get install -y {program})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(args: list[str], *, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a client; its output is kept out of assertion messages (it may echo the token)."""
    return subprocess.run(args, input=stdin, capture_output=True, timeout=60, env=env)


def outcome(done: subprocess.CompletedProcess, token: str) -> str:
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    return text.replace(token, "<token>")[-2000:]


def subjects_in_inbox(doors, user: str, token: str) -> str:
    context = ssl.create_default_context(cafile=doors.ca_file)
    with imaplib.IMAP4_SSL(doors.host, doors.ports["imaps"], ssl_context=context, timeout=10) as imap:
        imap.authenticate("XOAUTH2", lambda _: f"user={user}\x01auth=Bearer {token}\x01\x01".encode())
        imap.select("INBOX", readonly=True)
        _, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return b"".join(part[1] for part in data if isinstance(part, tuple)).decode()


def test_curl_reads_imap_with_an_oauth2_bearer(doors, outlook_token):
    curl = need("curl")
    subject = unique_subject("for curl")
    doors.deliver(ADELE, mime(MEGAN, ADELE, subject))
    token = outlook_token(ADELE, "IMAP.AccessAsUser.All")
    done = run([curl, "--silent", "--show-error", "--max-time", "30", "--cacert", doors.ca_file, "--user", ADELE,
                "--oauth2-bearer", token, f"imaps://{doors.host}:{doors.ports['imaps']}/INBOX",
                "--request", f'SEARCH SUBJECT "{subject}"'])
    assert done.returncode == 0, outcome(done, token)
    assert b"* SEARCH " in done.stdout and done.stdout.split(b"* SEARCH ")[1].strip(), outcome(done, token)
    # curl's STARTTLS form (--ssl-reqd) on the plain port
    done = run([curl, "--silent", "--show-error", "--max-time", "30", "--ssl-reqd", "--cacert", doors.ca_file,
                "--user", ADELE, "--oauth2-bearer", token, f"imap://{doors.host}:{doors.ports['imap']}/"])
    assert done.returncode == 0 and b"INBOX" in done.stdout, outcome(done, token)


def test_curl_is_refused_without_tls(doors, outlook_token):
    curl = need("curl")
    token = outlook_token(ADELE, "IMAP.AccessAsUser.All")
    done = run([curl, "--silent", "--max-time", "30", "--user", ADELE, "--oauth2-bearer", token,
                f"imap://{doors.host}:{doors.ports['imap']}/"])
    assert done.returncode != 0, outcome(done, token)


def test_curl_sends_over_smtp_with_an_oauth2_bearer(doors, outlook_token):
    curl = need("curl")
    subject = unique_subject("sent by curl")
    token = outlook_token(ADELE, "SMTP.Send")
    done = run([curl, "--silent", "--show-error", "--max-time", "30", "--ssl-reqd", "--cacert", doors.ca_file,
                "--user", ADELE, "--oauth2-bearer", token, "--mail-from", ADELE, "--mail-rcpt", MEGAN,
                "--upload-file", "-", f"smtp://{doors.host}:{doors.ports['submission']}"],
               stdin=mime(ADELE, MEGAN, subject))
    assert done.returncode == 0, outcome(done, token)
    assert subject in subjects_in_inbox(doors, MEGAN, outlook_token(MEGAN, "IMAP.AccessAsUser.All"))


def test_msmtp_sends_with_auth_xoauth2(doors, outlook_token, tmp_path):
    msmtp = need("msmtp")
    token = outlook_token(ADELE, "SMTP.Send")
    token_file = tmp_path / "token"
    token_file.write_text(token)
    config = tmp_path / "msmtprc"
    config.write_text(
        "account default\n"
        f"host {doors.host}\nport {doors.ports['submission']}\n"
        "tls on\ntls_starttls on\n"
        f"tls_trust_file {doors.ca_file}\n"
        "auth xoauth2\n"
        f"user {ADELE}\nfrom {ADELE}\n"
        f"passwordeval cat {token_file}\n")
    config.chmod(0o600)
    subject = unique_subject("sent by msmtp")
    done = run([msmtp, "--file", str(config), "--read-recipients"], stdin=mime(ADELE, MEGAN, subject))
    assert done.returncode == 0, outcome(done, token)
    assert subject in subjects_in_inbox(doors, MEGAN, outlook_token(MEGAN, "IMAP.AccessAsUser.All"))


def test_neomutt_sends_in_batch_mode_with_xoauth2(doors, outlook_token, tmp_path):
    neomutt = need("neomutt")
    token = outlook_token(ADELE, "SMTP.Send")
    token_file = tmp_path / "token"
    token_file.write_text(token)
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(
        f'set from = "{ADELE}"\n'
        f'set smtp_url = "smtp://{ADELE}@{doors.host}:{doors.ports["submission"]}/"\n'
        'set smtp_authenticators = "xoauth2"\n'
        f'set smtp_oauth_refresh_command = "cat {token_file}"\n'
        "set ssl_starttls = yes\nset ssl_force_tls = yes\n"
        f'set ssl_ca_certificates_file = "{doors.ca_file}"\n'
        "set record = \"\"\nset folder = \"" + str(tmp_path) + "\"\nset spoolfile = \"\"\n")
    subject = unique_subject("sent by neomutt")
    env = {**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    done = run([neomutt, "-n", "-F", str(muttrc), "-s", subject, "--", MEGAN],
               stdin=b"Hello from neomutt.\n", env=env)
    assert done.returncode == 0, outcome(done, token)
    assert subject in subjects_in_inbox(doors, MEGAN, outlook_token(MEGAN, "IMAP.AccessAsUser.All"))
