"""The SASL strings, the error-challenge decoding and the client-side token checks: no server needed."""

from __future__ import annotations

import base64
import json
import time

import pytest

from netkit_msal import ConfigError, MailAuthError, mail
from netkit_msal.mail import (
    TokenAudienceError,
    decode_challenge,
    delegated_scope,
    oauthbearer_string,
    xoauth2_string,
)
from netkit_msal.mail._source import check_audience, jwt_claims, refusal_hints, resolve


def unsigned_jwt(**claims) -> str:
    """A JWT-shaped token with these claims (the client never verifies signatures: the server does)."""
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


OUTLOOK_USER_CLAIMS = dict(
    aud="https://outlook.office.com", upn="adele@contoso.example", preferred_username="adele@contoso.example",
    email="adele@contoso.example", scp="IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send",
)


def test_xoauth2_string_is_the_documented_wire_form():
    assert xoauth2_string("adele@contoso.example", "tok") == "user=adele@contoso.example\x01auth=Bearer tok\x01\x01"


def test_oauthbearer_string_follows_rfc_7628():
    assert oauthbearer_string("adele@contoso.example", "tok", "imap.example", 993) == (
        "n,a=adele@contoso.example,\x01host=imap.example\x01port=993\x01auth=Bearer tok\x01\x01")


def test_oauthbearer_escapes_comma_and_equals_in_the_authzid():
    assert oauthbearer_string("a,b=c", "tok", "h", 1).startswith("n,a=a=2Cb=3Dc,\x01")


@pytest.mark.parametrize("user, token", [("", "tok"), ("adele", ""), ("adele\x01auth=x", "tok"), ("adele", "t\x01k")])
def test_sasl_strings_refuse_empty_values_and_the_separator(user, token):
    with pytest.raises(ConfigError):
        xoauth2_string(user, token)


def test_decode_challenge_reads_base64_json_and_already_decoded_bytes():
    payload = {"status": "401", "schemes": "bearer", "scope": "mail"}
    wire = base64.b64encode(json.dumps(payload).encode()).decode()
    assert decode_challenge(wire) == payload
    assert decode_challenge(json.dumps(payload).encode()) == payload
    assert decode_challenge(b"") is None
    assert decode_challenge(None) is None
    assert decode_challenge("not base64 !!") is None
    assert decode_challenge(base64.b64encode(b"[1, 2]")) is None


def test_a_graph_token_is_refused_for_mail_with_the_scope_to_ask_for():
    claims = dict(OUTLOOK_USER_CLAIMS, aud="https://graph.microsoft.com", scp="Mail.Read")
    with pytest.raises(TokenAudienceError) as caught:
        check_audience(claims, "imap")
    assert caught.value.scope == "https://outlook.office.com/IMAP.AccessAsUser.All"
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in str(caught.value)
    assert isinstance(caught.value, MailAuthError)


@pytest.mark.parametrize("protocol, scope", [
    ("imap", "https://outlook.office.com/IMAP.AccessAsUser.All"),
    ("pop3", "https://outlook.office.com/POP.AccessAsUser.All"),
    ("smtp", "https://outlook.office.com/SMTP.Send"),
])
def test_an_outlook_token_without_the_protocols_permission_is_refused(protocol, scope):
    claims = dict(OUTLOOK_USER_CLAIMS, scp="Mail.Read")
    with pytest.raises(TokenAudienceError, match="lacks") as caught:
        check_audience(claims, protocol)
    assert caught.value.scope == scope == delegated_scope(protocol)


def test_outlook_audiences_and_app_only_roles_pass():
    for aud in ("https://outlook.office.com", "https://outlook.office365.com/", "00000002-0000-0ff1-ce00-000000000000"):
        check_audience(dict(OUTLOOK_USER_CLAIMS, aud=aud), "imap")
    app_only = {"aud": "https://outlook.office365.com", "roles": ["IMAP.AccessAsApp"], "idtyp": "app"}
    check_audience(app_only, "imap")
    with pytest.raises(TokenAudienceError) as caught:
        check_audience(app_only, "pop3")
    assert caught.value.scope == "https://outlook.office365.com/.default"


def test_opaque_tokens_are_left_to_the_server():
    assert jwt_claims("EwBwA8l6BAAU-opaque") == {}
    check_audience({}, "imap")
    assert resolve("EwBwA8l6BAAU-opaque", "imap", user="adele@contoso.example").user == "adele@contoso.example"


def test_sources_string_4d_token_object_and_token_like():
    token = unsigned_jwt(**OUTLOOK_USER_CLAIMS)
    assert resolve(token, "imap").user == "adele@contoso.example"
    four_d_token = {"token": {"access_token": token}, "tokenExpiration": "2030-01-01T00:00:00Z"}
    assert resolve(four_d_token, "pop3").access_token == token
    assert resolve({"access_token": token}, "smtp", user="megan@contoso.example").user == "megan@contoso.example"

    class TokenLike:
        access_token = token
        username = "alex@contoso.example"

    assert resolve(TokenLike(), "imap").user == "alex@contoso.example"


def test_credentials_repr_hides_the_token():
    token = unsigned_jwt(**OUTLOOK_USER_CLAIMS)
    assert token not in repr(resolve(token, "imap"))


def test_a_user_is_required_when_the_token_names_none():
    with pytest.raises(ConfigError) as caught:
        resolve(unsigned_jwt(aud="https://outlook.office365.com", roles=["IMAP.AccessAsApp"]), "imap")
    assert caught.value.key == "user"
    with pytest.raises(ConfigError) as caught:
        resolve(42, "imap")
    assert caught.value.key == "source"
    with pytest.raises(ConfigError) as caught:
        resolve("tok", "nntp", user="x")
    assert caught.value.key == "protocol"


def test_refusal_hints_name_expiry_and_the_wrong_user():
    claims = dict(OUTLOOK_USER_CLAIMS, exp=int(time.time()) - 100)
    hints = refusal_hints(claims, "megan@contoso.example")
    assert any("expired" in hint for hint in hints)
    assert any("belongs to adele@contoso.example, not megan@contoso.example" in hint for hint in hints)
    assert refusal_hints(dict(OUTLOOK_USER_CLAIMS, exp=int(time.time()) + 100), "ADELE@contoso.example") == []


class StubProvider:
    """The provider interface the mail module relies on: config, username, get_token(scopes)."""

    def __init__(self, permission: str, username, claims: dict) -> None:
        self.config = type("Config", (), {"permission": permission, "ca_file": "/path/to/ca.pem"})()
        self.username = username
        self.claims = claims
        self.asked: list = []

    def get_token(self, scopes=None):
        self.asked.append(scopes)
        return type("Token", (), {"access_token": unsigned_jwt(**self.claims)})()


def test_a_provider_is_asked_for_the_protocols_outlook_scope_and_supplies_user_and_ca_file():
    provider = StubProvider("signedIn", "adele@contoso.example", OUTLOOK_USER_CLAIMS)
    creds = resolve(provider, "smtp")
    assert provider.asked == [["https://outlook.office.com/SMTP.Send"]]
    assert (creds.user, creds.ca_file) == ("adele@contoso.example", "/path/to/ca.pem")
    assert resolve(provider, "imap", ca_file="/mine.pem").ca_file == "/mine.pem"


def test_an_app_only_provider_asks_for_outlooks_default_scope_and_needs_the_mailbox_named():
    provider = StubProvider("service", None, {"aud": "https://outlook.office365.com", "roles": ["POP.AccessAsApp"]})
    with pytest.raises(ConfigError, match="user is required"):
        resolve(provider, "pop3")
    assert provider.asked == [["https://outlook.office365.com/.default"]]
    assert resolve(provider, "pop3", user="sales@contoso.example").user == "sales@contoso.example"


@pytest.mark.parametrize("opener", [mail.imap, mail.pop3, mail.smtp])
def test_tls_none_is_refused_for_hosts_off_loopback(opener):
    token = unsigned_jwt(**OUTLOOK_USER_CLAIMS)
    with pytest.raises(ConfigError, match="clear text") as caught:
        opener(token, host="mail.contoso.example", tls="none")
    assert caught.value.key == "tls"
    with pytest.raises(ConfigError, match="tls must be one of"):
        opener(token, host="127.0.0.1", tls="ssl")
