"""Every flow end to end: the real MSAL against the emulator, through OAuth2Provider."""

from __future__ import annotations

import threading

import pytest
import requests

from netkit_msal import (
    AuthenticationError,
    CallbackError,
    ConfigError,
    FlowTimeoutError,
    HTTPError,
    InteractionRequiredError,
    NetKitError,
    OAuth2Provider,
    PortInUseError,
    Token,
)
from netkit_msal.emulator import CERT_CLIENT_ID, OUTLOOK, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET

GRAPH = "https://graph.microsoft.com"


def requests_made(emu) -> int:
    """Every request the emulator answered since its stats were reset."""
    return sum(emu.stats().values())


def service_params(emu, **overrides):
    return emu.params("service", **{"cache": False, **overrides})


def test_client_secret(emu):
    provider = OAuth2Provider(service_params(emu))
    token = provider.get_token()
    claims = token.access_token_claims
    assert claims["aud"] == GRAPH and claims["appid"] == SECRET_CLIENT_ID and "Mail.Send" in claims["roles"]
    assert token.username is None and token.tenant_id == emu.tenant_id and token.valid
    assert token["token"]["token_type"] == "Bearer" and token.refresh_token is None
    before = requests_made(emu)
    assert provider.get_token() is token  # valid in memory: no MSAL call, no request
    assert requests_made(emu) == before
    assert provider.is_token_valid()


def test_client_certificate_file(emu):
    params = service_params(emu, clientId=CERT_CLIENT_ID, clientSecret=None,
                            certificateFile=emu.client_certificate_path)
    token = OAuth2Provider(params).get_token()
    assert token.access_token_claims["appid"] == CERT_CLIENT_ID and token.access_token_claims["roles"]


def test_client_certificate_pem_and_thumbprint(emu):
    with open(emu.client_certificate_path) as handle:
        pem = handle.read()
    key = pem[pem.index("-----BEGIN"):pem.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")]
    assert "CERTIFICATE" not in key
    params = service_params(emu, clientId=CERT_CLIENT_ID, clientSecret=None, privateKey=key,
                            thumbprint=emu.client_certificate_thumbprint)
    assert OAuth2Provider(params).get_token().access_token_claims["appid"] == CERT_CLIENT_ID


def test_wrong_secret_is_an_authentication_error_with_entra_details(emu):
    provider = OAuth2Provider(service_params(emu, clientSecret="not-the-secret-at-all"))
    with pytest.raises(AuthenticationError) as caught:
        provider.get_token()
    error = caught.value
    assert error.error == "invalid_client" and error.error_codes and error.code == 8
    assert error.correlation_id
    assert "not-the-secret-at-all" not in str(error) and "AADSTS" in error.error_description
    assert not provider.is_token_valid()


def test_service_force_refresh_gets_a_new_token(emu):
    provider = OAuth2Provider(service_params(emu))
    first = provider.get_token()
    second = provider.get_token(force_refresh=True)
    assert second.access_token != first.access_token
    assert emu.stats()["token"] == 2


def test_device_code(emu):
    shown = []
    provider = OAuth2Provider(emu.params(cache=False, flow="deviceCode"), on_device_code=shown.append)
    token = provider.get_token()
    assert shown and shown[0]["user_code"] and shown[0]["verification_uri"].startswith(emu.url)
    assert "device_code" not in shown[0]
    assert token.username == emu.users[0].upn == provider.username
    assert token.access_token_claims["scp"] and token.id_token_claims["preferred_username"] == emu.users[0].upn
    assert emu.stats()["authorize"] == 0 and emu.stats()["devicecode"] == 1


def test_device_code_message_goes_to_stderr_by_default(emu, capsys):
    OAuth2Provider(emu.params(cache=False, flow="deviceCode")).get_token()
    assert "enter the code" in capsys.readouterr().err


def test_device_code_times_out(emu):
    emu.set_auto_approve(False)
    try:
        provider = OAuth2Provider(emu.params(cache=False, flow="deviceCode", timeout=1), on_device_code=lambda i: None)
        with pytest.raises(FlowTimeoutError) as caught:
            provider.get_token()
        assert caught.value.code == 4
    finally:
        emu.set_auto_approve(True)


def test_browser(emu):
    browser = emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False))
    token = provider.get_token()
    assert browser.opened and not browser.errors
    assert token.username == emu.users[0].upn and provider.username == emu.users[0].upn
    assert token.refresh_token is None  # accessType online (default): kept in the cache only
    assert emu.stats()["authorize"] == 1
    assert provider.get_token() is token


def test_browser_login_hint_and_offline(emu):
    user = emu.users[1].upn
    emu.install_browser()
    token = OAuth2Provider(emu.params(cache=False, loginHint=user, accessType="offline")).get_token()
    assert token.username == user and token.refresh_token


def test_browser_auto_open_false_waits_for_the_app(emu):
    provider = OAuth2Provider(emu.params(cache=False, browserAutoOpen=False, timeout=30))
    url = provider.authenticate_uri
    assert url.startswith(f"{emu.authority}/oauth2/v2.0/authorize?") and "code_challenge_method=S256" in url
    assert provider.authenticate_uri == url  # the same prepared sign-in
    opener = threading.Thread(target=emu.browser().visit, args=(url,))
    opener.start()
    token = provider.get_token()
    opener.join()
    assert token.username == emu.users[0].upn


def test_browser_timeout(emu):
    provider = OAuth2Provider(emu.params(cache=False, browserAutoOpen=False, timeout=0.5))
    with pytest.raises(FlowTimeoutError):
        provider.get_token()


def test_browser_port_in_use(emu):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        provider = OAuth2Provider(emu.params(cache=False, redirectURI=f"http://127.0.0.1:{port}/"))
        emu.install_browser()
        with pytest.raises(PortInUseError) as caught:
            provider.get_token()
        assert caught.value.code == 7


def test_browser_callback_error(emu):
    user = emu.users[2].upn
    emu.disable_user(user)
    try:
        emu.install_browser()
        provider = OAuth2Provider(emu.params(cache=False, loginHint=user))
        with pytest.raises(CallbackError) as caught:
            provider.get_token()
        assert caught.value.code == 12 and caught.value.error
    finally:
        emu.disable_user(user, False)


def test_prompt_is_passed_through(emu):
    provider = OAuth2Provider(emu.params(cache=False, browserAutoOpen=False, prompt="select_account"))
    assert "prompt=select_account" in provider.authenticate_uri
    provider.close()


@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")
def test_web_app_two_steps(emu):
    params = emu.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                        permission="signedIn", redirectURI="https://app.contoso.example/auth/callback")
    provider = OAuth2Provider(params)
    url = provider.get_authorization_url()
    reply = emu.browser().authorize(url)  # what the browser would POST to the web app (form_post)
    assert "code" in reply
    token = provider.complete_authorization(reply)
    assert token.username == emu.users[0].upn
    # a web app sign-in is one user's among many: not the provider's own account (issue 15)
    assert provider.token is None and provider.for_account(token.username).token is token
    # the redirect as a URL with a query (response_mode "query")
    url = provider.get_authorization_url(scopes="Mail.Read", login_hint=emu.users[1].upn, response_mode="query")
    reply = emu.browser().authorize(url)
    from urllib.parse import urlencode

    token = provider.complete_authorization("https://app.contoso.example/auth/callback?" + urlencode(reply))
    assert token.username == emu.users[1].upn and token.scopes == [f"{GRAPH}/Mail.Read"]


def test_web_app_redirect_errors(emu):
    provider = OAuth2Provider(emu.params(cache=False, redirectURI="https://app.contoso.example/auth/callback",
                                         clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                                         permission="signedIn"))
    url = provider.get_authorization_url()
    state = dict(__import__("urllib.parse").parse.parse_qsl(url.split("?", 1)[1]))["state"]
    with pytest.raises(CallbackError) as caught:
        provider.complete_authorization({"state": state, "error": "access_denied", "error_description": "no"})
    assert caught.value.error == "access_denied"
    with pytest.raises(CallbackError):
        provider.complete_authorization({"state": "unknown", "code": "x"})
    with pytest.raises(ConfigError):
        provider.get_token()  # the redirect URI is not on this machine


def test_other_scopes_silently_for_the_signed_in_account(emu):
    emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False))
    provider.get_token()
    authorize = emu.stats()["authorize"]
    mail = provider.get_token(f"{OUTLOOK}/IMAP.AccessAsUser.All")
    assert mail.access_token_claims["aud"] == OUTLOOK and mail.username == emu.users[0].upn
    assert emu.stats()["authorize"] == authorize  # from the refresh token, no sign-in
    assert provider.get_token([f"{OUTLOOK}/IMAP.AccessAsUser.All"]) is mail


def test_refresh_after_expiry(emu):
    emu.set_token_lifetime(30)  # under the 60 s margin: expired at once for the provider and for MSAL
    emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False))
    first = provider.get_token()
    assert not first.valid
    emu.set_token_lifetime(3600)
    emu.reset_stats()
    second = provider.get_token()
    assert second.valid and second.access_token != first.access_token
    assert emu.stats()["token"] == 1 and emu.stats().get("token:refresh_token") == 1
    assert emu.stats()["authorize"] == 0


def test_revoked_refresh_token_needs_a_sign_in(emu):
    user = emu.users[3].upn
    emu.set_token_lifetime(30)
    emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False, loginHint=user))
    provider.get_token()
    emu.revoke_refresh_tokens(user)
    with pytest.raises(InteractionRequiredError):
        provider.get_token(interactive=False)
    assert not provider.is_token_valid()
    emu.set_token_lifetime(3600)
    assert provider.get_token().username == user  # the flow runs again


def test_restore_from_a_saved_token(emu):
    emu.install_browser()
    saved = OAuth2Provider(emu.params(cache=False, accessType="offline")).get_token().to_json()
    emu.reset_stats()
    import json

    restored = OAuth2Provider(emu.params(cache=False, token=json.loads(saved)))
    assert restored.token is not None and restored.is_token_valid()
    assert restored.get_token().access_token == Token.from_json(saved).access_token
    assert requests_made(emu) == 0
    # the bare token with tokenExpiration, as 4D allows
    bare = json.loads(saved)
    again = OAuth2Provider(emu.params(cache=False, token=bare["token"], tokenExpiration=bare["tokenExpiration"]))
    assert again.get_token().access_token == restored.token.access_token


def test_restore_an_expired_saved_token_refreshes_it(emu):
    emu.set_token_lifetime(30)
    emu.install_browser()
    saved = OAuth2Provider(emu.params(cache=False, accessType="offline")).get_token()
    emu.set_token_lifetime(3600)
    emu.reset_stats()
    provider = OAuth2Provider(emu.params(cache=False, token=saved, accessType="offline"))
    token = provider.get_token()
    assert token.valid and token.access_token != saved.access_token and token.refresh_token
    assert emu.stats()["authorize"] == 0 and emu.stats()["token"] == 1
    assert provider.username == emu.users[0].upn


def test_accounts_login_hint_and_sign_out(emu, file_cache):
    emu.install_browser()
    first, second = emu.users[0].upn, emu.users[1].upn
    OAuth2Provider(emu.params(cache=file_cache, loginHint=first)).get_token()
    OAuth2Provider(emu.params(cache=file_cache, loginHint=second)).get_token()
    provider = OAuth2Provider(emu.params(cache=file_cache, loginHint=second))
    assert sorted(a["username"] for a in provider.accounts()) == sorted([first, second])
    emu.reset_stats()
    assert provider.get_token().username == second  # loginHint picks the cached account
    assert emu.stats()["authorize"] == 0 and emu.stats()["token"] == 0
    assert provider.sign_out() == [second]
    assert [a["username"] for a in provider.accounts()] == [first]
    assert provider.token is None
    assert OAuth2Provider(emu.params(cache=file_cache, loginHint=None)).username is None
    assert sorted(OAuth2Provider(emu.params(cache=file_cache)).sign_out(first)) == [first]


def test_several_cached_accounts_without_hint_ask_for_account(emu, file_cache):
    browser = emu.install_browser()
    for user in emu.users[:2]:
        OAuth2Provider(emu.params(cache=file_cache, loginHint=user.upn)).get_token()
    opened = len(browser.opened)
    for interactive in (False, True):  # never picks one, never signs in someone else
        with pytest.raises(NetKitError, match="account="):
            OAuth2Provider(emu.params(cache=file_cache, loginHint=None)).get_token(interactive=interactive)
    assert len(browser.opened) == opened


def test_service_sign_out_forgets_app_tokens(emu, file_cache):
    provider = OAuth2Provider(service_params(emu, cache=file_cache))
    provider.get_token()
    provider.sign_out()
    assert provider.token is None
    emu.reset_stats()
    OAuth2Provider(service_params(emu, cache=file_cache)).get_token()
    assert emu.stats()["token"] == 1


def test_dropped_connection_is_a_typed_error(emu):
    provider = OAuth2Provider(service_params(emu))
    provider.get_token()  # discovery done
    emu.inject_fault("token", drop=True, count=None)
    try:
        with pytest.raises(HTTPError) as caught:
            provider.get_token(force_refresh=True)
        assert "client credentials" in str(caught.value)
    finally:
        emu.clear_faults()


def test_unknown_tenant_is_a_typed_error(emu):
    params = emu.params("service", cache=False, authority=emu.url + "/no-such-tenant", tenant=None)
    with pytest.raises(AuthenticationError):
        OAuth2Provider(params).get_token()


def test_no_browser_falls_back_to_device_code(emu, monkeypatch):
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: False)
    shown = []
    token = OAuth2Provider(emu.params(cache=False), on_device_code=shown.append).get_token()
    assert shown and token.username == emu.users[0].upn
    assert emu.stats()["devicecode"] == 1 and emu.stats()["authorize"] == 0


def test_explicit_browser_flow_without_browser_shows_the_url(emu, monkeypatch, capsys):
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: False)
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", timeout=0.5))
    with pytest.raises(FlowTimeoutError):
        provider.get_token()
    err = capsys.readouterr().err
    assert "Open this address in a browser" in err and f"{emu.authority}/oauth2/v2.0/authorize?" in err


def test_a_transient_server_error_is_retried(emu):
    provider = OAuth2Provider(service_params(emu))
    emu.inject_fault("token", status=503, count=1)
    assert provider.get_token().valid
    assert emu.stats()["token"] == 2


@pytest.mark.parametrize("fault, requests_sent", [(dict(status=500), 3), (dict(status=503, retry_after=30), 1)],
                         ids=["500-retried-twice", "503-retry-after-not-retried"])
def test_a_persistent_server_error_is_an_http_error(emu, fault, requests_sent):
    """MSAL raises its own MsalServiceError for a 5xx without an OAuth error: it becomes our HTTPError."""
    provider = OAuth2Provider(service_params(emu))
    emu.inject_fault("token", count=None, **fault)
    with pytest.raises(HTTPError) as caught:
        provider.get_token()
    error = caught.value
    assert error.status == fault["status"] and error.code == 5
    assert str(error) == f"client credentials: the identity platform answered HTTP {fault['status']}"
    assert emu.stats()["token"] == requests_sent


def test_a_server_error_during_a_refresh_is_an_http_error(emu):
    emu.set_token_lifetime(30)  # expired at once: the next get_token() refreshes
    emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False, accessType="offline"))
    first = provider.get_token()
    emu.inject_fault("token", status=500, count=None)
    with pytest.raises(HTTPError) as caught:
        provider.get_token(interactive=False)
    assert caught.value.status == 500 and "token" in str(caught.value)
    assert first.refresh_token not in str(caught.value) and first.access_token not in repr(caught.value)
    assert emu.stats()["authorize"] == 1  # no new sign-in was started


def test_a_server_error_when_the_code_is_redeemed_is_an_http_error(emu):
    emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False, flow="browser"))
    provider.accounts()  # discovery first: the fault is for the code's redemption
    emu.inject_fault("token", status=502, count=None)
    with pytest.raises(HTTPError) as caught:
        provider.get_token()
    assert caught.value.status == 502 and str(caught.value).startswith("authorization code:")
    assert emu.stats()["authorize"] == 1


def test_a_server_error_on_discovery_is_an_http_error(emu):
    emu.inject_fault("discovery", status=500, count=None)
    with pytest.raises(HTTPError) as caught:
        OAuth2Provider(service_params(emu)).get_token()
    assert caught.value.status == 500 and "configuration of the identity platform" in str(caught.value)
    assert emu.stats()["token"] == 0


def test_throttling_with_retry_after_is_not_retried(emu):
    provider = OAuth2Provider(service_params(emu))
    emu.inject_fault("token", status=429, retry_after=30, count=1)
    with pytest.raises(AuthenticationError):
        provider.get_token()
    assert emu.stats()["token"] == 1


def test_latency_beyond_the_timeout_fails_in_time(emu):
    provider = OAuth2Provider(service_params(emu, timeout=5))  # an honest answer comes well within it
    provider.get_token()
    emu.inject_fault("token", latency=15, count=1)
    with pytest.raises(FlowTimeoutError):
        provider.get_token(force_refresh=True)


def test_cache_hit_carries_id_token_and_offline_refresh_token(emu, file_cache):
    emu.install_browser()
    OAuth2Provider(emu.params(cache=file_cache)).get_token()
    emu.reset_stats()
    online = OAuth2Provider(emu.params(cache=file_cache)).get_token()
    offline = OAuth2Provider(emu.params(cache=file_cache, accessType="offline")).get_token()
    assert requests_made(emu) == 0
    assert online.refresh_token is None and offline.refresh_token
    assert online.id_token_claims["preferred_username"] == emu.users[0].upn == offline.username
    assert online.tenant_id == emu.tenant_id


def test_threads_share_one_sign_in(emu):
    browser = emu.install_browser()
    provider = OAuth2Provider(emu.params(cache=False))
    opened = len(browser.opened)
    tokens = []
    threads = [threading.Thread(target=lambda: tokens.append(provider.get_token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 8 and len({t.access_token for t in tokens}) == 1
    assert len(browser.opened) == opened + 1 and emu.stats()["token"] == 1


def test_members_and_repr(emu):
    service = OAuth2Provider(service_params(emu))
    assert service.authenticate_uri == f"{emu.authority}/oauth2/v2.0/authorize"
    assert service.token_uri == f"{emu.authority}/oauth2/v2.0/token"
    assert service.scope == [f"{GRAPH}/.default"] and service.token is None
    assert not service.is_token_valid()  # 4D: no token yet -> false, and no request
    assert requests_made(emu) == 0
    assert SECRET_CLIENT_SECRET not in repr(service) and SECRET_CLIENT_ID in repr(service)
    with pytest.raises(ConfigError):
        service.get_authorization_url()
    with pytest.raises(ConfigError) as caught:
        service.get_token(scopes="openid offline_access")
    assert caught.value.key == "scopes"


@pytest.mark.parametrize("page", ["url", "file"])
def test_authentication_page_after_the_redirect(emu, tmp_path, page):
    if page == "url":
        spec, expect = "https://app.contoso.example/signed-in", None
    else:
        path = tmp_path / "done.html"
        path.write_text("<html><body>All done, close this tab</body></html>")
        spec, expect = str(path), "All done, close this tab"
    provider = OAuth2Provider(emu.params(cache=False, browserAutoOpen=False, authenticationPage=spec, timeout=30))
    url = provider.authenticate_uri
    fields = emu.browser().authorize(url)  # the form the browser would POST to the redirect URI
    redirect_uri = dict(__import__("urllib.parse").parse.parse_qsl(url.split("?", 1)[1]))["redirect_uri"]
    answer = requests.post(redirect_uri, data=fields, allow_redirects=False, timeout=10)
    if expect is None:
        assert answer.status_code in (302, 303) and answer.headers["Location"] == spec
    else:
        assert answer.status_code == 200 and expect in answer.text
    assert provider.get_token().username == emu.users[0].upn


def test_no_desktop_means_no_browser(monkeypatch):
    import sys

    from netkit_msal.flows.browser import browser_available

    if sys.platform in ("darwin", "win32"):
        pytest.skip("the desktop check is for Linux and BSD")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("platform.release", lambda: "6.1.0-generic")
    assert not browser_available()
    monkeypatch.setenv("DISPLAY", ":0")

    def no_browser():
        import webbrowser

        raise webbrowser.Error("none")

    monkeypatch.setattr("webbrowser.get", no_browser)
    assert not browser_available()


def test_signed_in_on_a_server_without_desktop_uses_device_code(emu, monkeypatch):
    import sys

    if sys.platform in ("darwin", "win32"):
        pytest.skip("the desktop check is for Linux and BSD")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("platform.release", lambda: "6.1.0-generic")
    shown = []
    provider = OAuth2Provider(emu.params(cache=False), on_device_code=shown.append)
    assert provider.authenticate_uri == f"{emu.authority}/oauth2/v2.0/authorize"  # no sign-in prepared
    assert provider.get_token().username == emu.users[0].upn and shown
    assert emu.stats()["authorize"] == 0 and emu.stats()["devicecode"] == 1


CLAIMS = '{"access_token": {"nbf": {"essential": true, "value": "1700000000"}}}'


def test_claims_challenge_gets_a_new_token(emu):
    emu.install_browser()
    user = OAuth2Provider(emu.params(cache=False))
    first = user.get_token()
    emu.reset_stats()
    second = user.get_token(claims=CLAIMS)
    assert second.access_token != first.access_token
    assert emu.stats().get("token:refresh_token") == 1 and emu.stats()["authorize"] == 0
    service = OAuth2Provider(service_params(emu))
    app_first = service.get_token()
    assert service.get_token(claims=CLAIMS).access_token != app_first.access_token
