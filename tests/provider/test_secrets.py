"""No token, secret, key or authorization code in any DEBUG log line (ours, MSAL's, urllib3's), repr or error."""

from __future__ import annotations

import logging

import pytest

from netkit_msal import AuthenticationError, OAuth2Provider
from netkit_msal.emulator import CERT_CLIENT_ID, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET


def test_no_secret_in_debug_logs_or_reprs(emu, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, MSAL's included
    secrets: list[str] = [SECRET_CLIENT_SECRET]
    shown: list[str] = []

    emu.set_token_lifetime(30)  # so that the next call refreshes
    browser = emu.install_browser()
    user = OAuth2Provider(emu.params(cache=False, accessType="offline"))
    first = user.get_token()
    emu.set_token_lifetime(3600)
    second = user.get_token()
    mail = user.get_token("https://outlook.office.com/IMAP.AccessAsUser.All")
    device = OAuth2Provider(emu.params(cache=False, flow="deviceCode"), on_device_code=lambda info: None).get_token()
    service = OAuth2Provider(emu.params("service", cache=False))
    app_token = service.get_token()
    with open(emu.client_certificate_path) as handle:
        pem = handle.read()
    cert = OAuth2Provider(emu.params("service", cache=False, clientId=CERT_CLIENT_ID, clientSecret=None,
                                     certificateFile=emu.client_certificate_path))
    cert.get_token()
    web = OAuth2Provider(emu.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                                    redirectURI="https://app.contoso.example/auth/callback"))
    reply = emu.browser().authorize(web.get_authorization_url())
    web_token = web.complete_authorization(reply)
    secrets += [reply["code"]]

    for token in (first, second, mail, device, app_token, web_token):
        secrets += [token.access_token, token.refresh_token or "", token.id_token or ""]
        shown += [repr(token), str(token)]
    secrets += [line for line in pem.splitlines() if line and not line.startswith("-----")][:3]
    for provider in (user, service, cert, web):
        shown += [repr(provider), repr(provider.config)]
    with pytest.raises(AuthenticationError) as caught:
        OAuth2Provider(emu.params("service", cache=False, clientSecret="a-wrong-secret-value")).get_token()
    secrets.append("a-wrong-secret-value")
    shown += [str(caught.value), repr(caught.value)]

    assert browser.opened
    assert first.refresh_token and second.refresh_token
    texts = [record.getMessage() for record in caplog.records] + shown
    assert any(record.name.startswith("msal") for record in caplog.records)
    assert any(record.name == "netkit_msal" for record in caplog.records)
    for secret in filter(None, secrets):
        leaks = [text[:120] for text in texts if secret in text]
        assert not leaks, leaks
