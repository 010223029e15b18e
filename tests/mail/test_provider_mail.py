"""An OAuth2Provider as the token source: it asks for the protocol's Outlook scope by itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mail_support import ADELE, IMAP_SCOPE, MAIL_SCOPES, POP_SCOPE, SMTP_SCOPE

from netkit_msal import mail


@pytest.fixture(scope="module")
def signed_in_params(mail_emulator, tmp_path_factory):
    """Parameters of a provider that signs Adele in (headless browser) with the mail scopes.

    The token cache is a file, so that a second process (the CLI) gets tokens from it silently.
    """
    cache = {"path": str(tmp_path_factory.mktemp("mail-cache") / "tokens.json"), "allowUnencrypted": True}
    return mail_emulator.params("signedIn", scope=[*MAIL_SCOPES, "offline_access"], loginHint=ADELE,
                                timeout=10, cache=cache)


@pytest.fixture(scope="module")
def provider(mail_emulator, signed_in_params):
    from netkit_msal import OAuth2Provider

    mail_emulator.install_browser(ADELE)
    with OAuth2Provider(signed_in_params) as signed_in:
        signed_in.get_token()
        yield signed_in


def listener_options(dovecot, listener, tls="starttls"):
    # no ca_file: it comes from the provider's caFile (the emulator CA signed Dovecot's certificate)
    return dict(host=dovecot.host, port=dovecot.ports[listener], tls=tls)


def test_provider_connections_log_in_as_the_signed_in_user(dovecot, provider, server_log):
    with provider.imap(**listener_options(dovecot, "imaps", "implicit")) as imap:
        assert imap.state == "AUTH"
    provider.pop3(**listener_options(dovecot, "pop3")).quit()
    with provider.smtp(**listener_options(dovecot, "submission")) as smtp:
        assert smtp.noop()[0] == 250
    log = server_log()
    for service in ("imap-login", "pop3-login", "submission-login"):
        assert f"{service}: Info: Login: user=<{ADELE}>" in log


def test_provider_check_connection_and_reopen(dovecot, provider):
    assert provider.check_connection("pop3", **listener_options(dovecot, "pop3s", "implicit"))["success"] is True
    conn = provider.imap(**listener_options(dovecot, "imap"))
    reopened = conn.reopen()
    try:
        assert reopened.select("INBOX")[0] == "OK"
    finally:
        reopened.logout()


def test_provider_tokens_carry_each_protocols_scope(provider):
    for scope, permission in ((IMAP_SCOPE, "IMAP"), (POP_SCOPE, "POP"), (SMTP_SCOPE, "SMTP")):
        claims = provider.get_token(scopes=[scope]).access_token_claims
        assert claims["aud"] == "https://outlook.office.com"
        assert any(s.startswith(permission) for s in claims["scp"].split())


def test_mail_check_with_params_gets_the_token_from_the_cache(dovecot, provider, signed_in_params, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps(signed_in_params))
    done = subprocess.run(
        [sys.executable, "-m", "netkit_msal.cli", "mail-check", "smtp", "--params", str(params),
         "--host", dovecot.host, "--port", str(dovecot.ports["submission"])],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["success"] is True


def test_a_token_and_its_4d_object_are_sources_too(dovecot, provider):
    token = provider.get_token(scopes=[IMAP_SCOPE])
    for source in (token, json.loads(token.to_json())):
        conn = mail.imap(source, ca_file=provider.config.ca_file, **listener_options(dovecot, "imap"))
        assert "Logged in" in conn.login_response
        conn.logout()
