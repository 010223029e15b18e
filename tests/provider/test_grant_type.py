"""``OAuth2Provider.grant_type`` (4D's ``grantType``): the grant its sign-in redeems, read-only.

The expected values are the registered OAuth 2.0 ones (RFC 6749 section 4.1.3 and 4.4.2, RFC 8628 section 3.4),
and, where the provider signs in against the emulator, the ``grant_type`` MSAL actually posted.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from netkit_msal import OAuth2Provider

CLIENT = "7008ebf5-4c2e-4b8a-9d1f-0a1b2c3d4e5f"
TENANT = "6e1f8c2a-93b4-4d5e-8f70-1a2b3c4d5e6f"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628, 3.4


def posted_grant_types(provider: OAuth2Provider) -> list[str]:
    """Record the grant_type of every form the provider's MSAL session posts from now on."""
    seen: list[str] = []

    def hook(response, *args, **kwargs):
        body = response.request.body
        if response.request.method == "POST" and body:
            text = body.decode() if isinstance(body, bytes) else body
            seen.extend(parse_qs(text).get("grant_type", []))

    provider._http.identity_session().hooks["response"].append(hook)
    return seen


@pytest.mark.parametrize("params, expected", [
    ({"permission": "service", "clientSecret": "s3cret-value", "scope": "https://graph.microsoft.com/.default"},
     "client_credentials"),
    ({"permission": "signedIn", "flow": "browser"}, "authorization_code"),
    ({"permission": "signedIn", "flow": "deviceCode"}, DEVICE_CODE),
    ({"permission": "signedIn", "browserAutoOpen": False}, "authorization_code"),
    ({"permission": "signedIn", "clientSecret": "s3cret-value", "redirectURI": "https://app.contoso.com/signin"},
     "authorization_code"),  # a web app: get_authorization_url() and complete_authorization()
])
def test_grant_type_follows_the_flow(params, expected):
    provider = OAuth2Provider({"name": "Microsoft", "clientId": CLIENT, "tenant": TENANT, **params})
    assert provider.grant_type == expected


def test_grant_type_is_read_only():
    provider = OAuth2Provider(clientId=CLIENT, tenant=TENANT, flow="deviceCode")
    with pytest.raises(AttributeError):
        provider.grant_type = "password"  # type: ignore[misc]


def test_service_grant_type_is_what_msal_posts(emu):
    provider = OAuth2Provider(emu.params("service", cache=False))
    posted = posted_grant_types(provider)
    provider.get_token()
    assert posted == [provider.grant_type] == ["client_credentials"]


def test_device_code_grant_type_is_what_msal_posts(emu):
    provider = OAuth2Provider(emu.params(cache=False, flow="deviceCode"), on_device_code=lambda info: None)
    posted = posted_grant_types(provider)
    provider.get_token()
    assert posted and set(posted) == {provider.grant_type} == {DEVICE_CODE}
