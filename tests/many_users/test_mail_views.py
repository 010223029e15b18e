"""IMAP, SMTP and POP3 through for_account() views: each login is the view's user, on a real Dovecot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal.emulator import SECRET_CLIENT_ID, SECRET_CLIENT_SECRET


@pytest.fixture(scope="module")
def mail_setup(tmp_path_factory: Any) -> Iterator[tuple[Any, Any]]:
    """Its own emulator (Dovecot allows no clock leeway: no other test may advance this one's clock)."""
    from netkit_msal.emulator import Emulator
    from netkit_msal.emulator.dovecot import INSTALL_HINT, DovecotServer, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip(f"dovecot is not installed: {INSTALL_HINT} (or run ./dev test, which installs it)")
    with Emulator(state_dir=tmp_path_factory.mktemp("many-users-mail")) as emu, DovecotServer(emu) as dovecot:
        yield emu, dovecot


def test_mail_logins_through_views_are_each_users_own(mail_setup):
    emu, dovecot = mail_setup
    users = [emu.users[1].upn, emu.users[2].upn]
    provider = OAuth2Provider(emu.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                                         loginHint=None, redirectURI="https://app.contoso.example/auth/callback"))
    for upn in users:
        url = provider.get_authorization_url(login_hint=upn)
        provider.complete_authorization(emu.browser(upn).authorize(url))
    start = dovecot.log_size()
    for upn in users:
        view = provider.for_account(upn)
        options = dict(host=dovecot.host, tls="starttls")
        with view.imap(port=dovecot.ports["imap"], **options) as imap:
            assert imap.state == "AUTH"
        view.pop3(port=dovecot.ports["pop3"], **options).quit()
        with view.smtp(port=dovecot.ports["submission"], **options) as smtp:
            assert smtp.noop()[0] == 250
    log = dovecot.log_text(start)
    for upn in users:
        for service in ("imap-login", "pop3-login", "submission-login"):
            assert f"{service}: Info: Login: user=<{upn}>" in log, log[-3000:]
