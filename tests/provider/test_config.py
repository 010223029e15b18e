"""The parameter object: every key's meaning, and every mistake as a ConfigError naming the key."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from netkit_msal import ConfigError, OAuth2Provider
from netkit_msal._config import parse_config

CLIENT = "7008ebf5-4c2e-4b8a-9d1f-0a1b2c3d4e5f"
TENANT = "6e1f8c2a-93b4-4d5e-8f70-1a2b3c4d5e6f"
GRAPH = "https://graph.microsoft.com"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """(key PEM, cert PEM, thumbprint, path of a key+cert PEM file, path of an encrypted one)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netkit test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()
    folder = tmp_path_factory.mktemp("cert")
    plain = folder / "app.pem"
    plain.write_text(key_pem + cert_pem)
    encrypted = folder / "app-encrypted.pem"
    encrypted.write_text(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret-pass")).decode() + cert_pem)
    return key_pem, cert_pem, thumbprint, plain, encrypted


def config(**params):
    params.setdefault("clientId", CLIENT)
    params.setdefault("cache", False)
    return parse_config(params)


def test_only_a_client_id_gives_a_signed_in_graph_config():
    c = config()
    assert c.permission == "signedIn"
    assert c.tenant == "common"
    assert c.authority == "https://login.microsoftonline.com/common"
    assert c.scope == (f"{GRAPH}/User.Read",)
    assert c.timeout == 120 and c.browser_auto_open is True and c.offline is False
    assert c.authenticate_uri == "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    assert c.token_uri == "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    assert c.graph_endpoint == GRAPH and c.graph_resource == GRAPH
    assert c.instance_discovery is True


def test_4d_seed_example():
    c = config(name="Microsoft", permission="signedIn", redirectURI="http://127.0.0.1:50993/",
               scope="https://outlook.office.com/IMAP.AccessAsUser.All")
    assert c.scope == ("https://outlook.office.com/IMAP.AccessAsUser.All",)
    assert c.redirect_uri == "http://127.0.0.1:50993/"


def test_scopes_short_names_list_and_reserved():
    c = config(scope=["User.Read", "openid profile", "offline_access", "Mail.Send", "User.Read", "email"])
    assert c.scope == (f"{GRAPH}/User.Read", f"{GRAPH}/Mail.Send", "email")
    assert c.offline is True  # offline_access means accessType offline
    assert config(scope="openid profile").scope == (f"{GRAPH}/User.Read",)


def test_text_values_compare_without_case_as_in_4d():
    c = config(name="microsoft", permission="SIGNEDIN", accessType="Offline", prompt="Select_Account",
               PKCEMethod="plain", flow="devicecode")
    assert (c.permission, c.offline, c.prompt, c.flow) == ("signedIn", True, "select_account", "deviceCode")


def test_service_with_secret():
    c = config(permission="service", clientSecret="s", tenant="contoso.example")
    assert c.confidential and c.client_credential() == "s"
    assert c.scope == (f"{GRAPH}/.default",)
    assert "'s'" not in repr(c)


def test_permission_is_deduced_when_unambiguous():
    assert config(clientSecret="s", tenant=TENANT).permission == "service"
    assert config().permission == "signedIn"


def test_authority_national_cloud_and_custom():
    us = config(authority="https://login.microsoftonline.us", tenant=TENANT)
    assert us.authority == f"https://login.microsoftonline.us/{TENANT}"
    assert us.graph_endpoint == "https://graph.microsoft.us" and us.graph_resource == "https://graph.microsoft.us"
    assert us.scope == ("https://graph.microsoft.us/User.Read",)
    emu = config(authority=f"https://127.0.0.1:8443/{TENANT}/", graphEndpoint="https://127.0.0.1:8443/v1.0")
    assert emu.authority == f"https://127.0.0.1:8443/{TENANT}" and emu.tenant == TENANT
    assert emu.graph_endpoint == "https://127.0.0.1:8443" and emu.graph_resource == GRAPH
    assert emu.instance_discovery is False
    ciam = config(authority="https://contoso.ciamlogin.com")
    assert ciam.authority == "https://contoso.ciamlogin.com"


def test_4d_endpoints_give_the_authority():
    c = config(authenticateURI=f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/authorize",
               tokenURI=f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    assert c.authority == f"https://login.microsoftonline.com/{TENANT}" and c.tenant == TENANT


def test_empty_optional_text_means_not_given():
    c = config(clientSecret="", loginHint="", prompt="", redirectURI="")
    assert c.permission == "signedIn" and c.login_hint is None and c.prompt is None


def test_certificate_as_pem_and_thumbprint(certificate):
    key_pem, cert_pem, thumbprint, _, _ = certificate
    c = config(permission="service", tenant=TENANT, privateKey=key_pem,
               thumbprint=":".join(thumbprint[i:i + 2] for i in range(0, 40, 2)).lower())
    assert c.client_credential()["thumbprint"] == thumbprint
    # key and certificate in one PEM text: the thumbprint is computed
    assert config(permission="service", tenant=TENANT, privateKey=key_pem + cert_pem).thumbprint == thumbprint
    assert "PRIVATE KEY" not in repr(c)


def test_certificate_file(certificate):
    _, _, thumbprint, plain, encrypted = certificate
    assert config(permission="service", tenant=TENANT, certificateFile=str(plain)).thumbprint == thumbprint
    c = config(permission="service", tenant=TENANT, certificateFile=encrypted, certificatePassword="s3cret-pass")
    assert c.thumbprint == thumbprint and "BEGIN PRIVATE KEY" in c.client_credential()["private_key"]


def test_keyword_arguments_merge_and_win():
    p = OAuth2Provider({"clientId": "a", "cache": False}, clientId=CLIENT, scope="Mail.Read")
    assert p.config.client_id == CLIENT and p.scope == [f"{GRAPH}/Mail.Read"]


def test_construction_does_no_io(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the constructor must not connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    p = OAuth2Provider(clientId=CLIENT, cache=False)
    assert p.token is None and p.username is None


# --- every mistake: (params, key named, 4D code, words in the message, suggestion) ---------------------------
ERRORS = [
    ({"clientID": CLIENT}, "clientID", 3, "did you mean 'clientId'", "clientId"),
    ({"client_id": CLIENT}, "client_id", 3, "clientId", "clientId"),
    ({"scopes": "User.Read"}, "scopes", 3, "'scope'", "scope"),
    ({"redirectUri": "http://127.0.0.1:1/"}, "redirectUri", 3, "redirectURI", "redirectURI"),
    ({"tennant": "x"}, "tennant", 3, "tenant", "tenant"),
    ({"PKCEenabled": True}, "PKCEenabled", 3, "PKCEEnabled", "PKCEEnabled"),
    ({"browserAutoopen": False}, "browserAutoopen", 3, "browserAutoOpen", "browserAutoOpen"),
    ({"whatever": 1}, "whatever", 3, "unknown parameter", None),
    ({"name": "Google"}, "name", 3, "Microsoft", None),
    ({"name": ""}, "name", 9, "empty", None),
    ({"clientId": ""}, "clientId", 9, "empty", None),
    ({"clientId": 12}, "clientId", 10, "text", None),
    ({"permission": "user"}, "permission", 3, "'signedIn'", None),
    ({"permission": ""}, "permission", 9, "empty", None),
    ({"permission": "service", "tenant": TENANT}, "clientSecret", 2, "credential", None),
    ({"permission": "service", "clientSecret": "s"}, "tenant", 3, "tenant id", None),
    ({"permission": "service", "clientSecret": "s", "tenant": TENANT, "scope": "Mail.Send"}, "scope", 3,
     ".default", None),
    ({"clientSecret": "s", "redirectURI": "https://app.example/cb"}, "permission", 2, "service", None),
    ({"scope": ""}, "scope", 9, "empty", None),
    ({"scope": 5}, "scope", 10, "list", None),
    ({"scope": ["User.Read", 5]}, "scope", 10, "text", None),
    ({"timeout": "two minutes"}, "timeout", 3, "positive", None),
    ({"timeout": True}, "timeout", 10, "number", None),
    ({"timeout": 0}, "timeout", 3, "positive", None),
    ({"accessType": "always"}, "accessType", 3, "'offline'", None),
    ({"prompt": "login consent"}, "prompt", 3, "select_account", None),
    ({"PKCEMethod": "S512"}, "PKCEMethod", 3, "S256", None),
    ({"PKCEEnabled": "yes"}, "PKCEEnabled", 10, "boolean", None),
    ({"browserAutoOpen": 1}, "browserAutoOpen", 10, "boolean", None),
    ({"flow": "popup"}, "flow", 3, "deviceCode", None),
    ({"flow": "deviceCode", "clientSecret": "s", "permission": "signedIn"}, "flow", 3, "public", None),
    ({"flow": "browser", "redirectURI": "https://app.example/cb"}, "redirectURI", 3, "localhost", None),
    ({"redirectURI": "ftp://x/"}, "redirectURI", 3, "http", None),
    ({"redirectURI": "http://127.0.0.1:99999/"}, "redirectURI", 3, "not a valid URL", None),
    ({"tenant": "bad tenant!"}, "tenant", 3, "tenant id", None),
    ({"tenant": ""}, "tenant", 9, "empty", None),
    ({"authority": "http://127.0.0.1:1/t"}, "authority", 3, "https", None),
    ({"authority": "https://login.microsoftonline.com/a", "tenant": "b"}, "tenant", 3, "match", None),
    ({"authenticateURI": "https://accounts.google.com/o/oauth2/auth"}, "authenticateURI", 3, "authority", None),
    ({"authenticateURI": "https://login.microsoftonline.com/a/oauth2/v2.0/authorize",
      "tokenURI": "https://login.microsoftonline.com/b/oauth2/v2.0/token"}, "tokenURI", 3, "authority", None),
    ({"graphEndpoint": "http://graph.example"}, "graphEndpoint", 3, "https", None),
    ({"graphEndpoint": "graph"}, "graphEndpoint", 3, "URL", None),
    ({"caFile": "/nonexistent/ca.pem"}, "caFile", 3, "does not exist", None),
    ({"authenticationPage": "/nonexistent/page.html"}, "authenticationPage", 3, "file", None),
    # with a secret too, the certificate is used (as in 4D; tests/provider/test_params_4d.py): so it is checked
    ({"clientSecret": "s", "privateKey": "x", "thumbprint": "A" * 40, "tenant": TENANT}, "privateKey", 15,
     "PEM", None),
    ({"thumbprint": "A" * 40}, "privateKey", 2, "thumbprint goes with privateKey", None),
    ({"privateKey": "not a pem", "thumbprint": "A" * 40, "tenant": TENANT}, "privateKey", 15, "PEM", None),
    ({"certificateFile": "/nonexistent.pem", "tenant": TENANT}, "certificateFile", 3, "cannot be read", None),
    ({"certificatePassword": "x"}, "certificatePassword", 3, "without", None),
    ({"clientEmail": "a@b"}, "clientEmail", 3, "Google", None),
    ({"token": 5}, "token", 10, "object", None),
    ({"token": {"access_token": "abc"}}, "token", 3, "tokenExpiration", None),
    ({"token": {"access_token": "abc"}, "tokenExpiration": "tomorrow"}, "token", 3, "ISO 8601", None),
    ({"tokenExpiration": "2030-01-01T00:00:00Z"}, "tokenExpiration", 3, "without token", None),
    ({"token": {"access_token": True}}, "token", 3, "access_token must be text", None),
    ({"token": {"access_token": 5}}, "token", 3, "access_token must be text", None),
    ({"token": {"access_token": "abc", "refresh_token": 5}, "tokenExpiration": "2030-01-01T00:00:00Z"}, "token", 3,
     "refresh_token must be text", None),
    ({"token": {"access_token": "abc"}, "tokenExpiration": "9999-12-31T23:59:59-05:00"}, "token", 3, "out of range",
     None),
    ({"caFile": "x/" * 3000}, "caFile", 3, "cannot be a file name", None),
    ({"authenticationPage": "a" * 256}, "authenticationPage", 3, "cannot be a file name", None),
    ({"authenticationErrorPage": "a\x00b"}, "authenticationErrorPage", 3, "file", None),
    ({"caFile": "~no-such-user-netkit/ca.pem"}, "caFile", 3, "home directory", None),
    ({"certificateFile": "~no-such-user-netkit/app.pem", "tenant": TENANT}, "certificateFile", 3, "home directory",
     None),
    ({"cache": "yes"}, "cache", 10, "cache", None),
    ({"cache": {"pth": "/tmp/x"}}, "cache.pth", 3, "path", "path"),
]


@pytest.mark.parametrize("params, key, code, words, suggestion", ERRORS,
                         ids=[f"{i}-{e[1]}" for i, e in enumerate(ERRORS)])
def test_config_errors(params, key, code, words, suggestion):
    params = {"clientId": CLIENT, "cache": False, **params}
    with pytest.raises(ConfigError) as caught:
        OAuth2Provider(params)
    error = caught.value
    assert error.key == key, str(error)
    assert error.code == code, str(error)
    assert words in str(error)
    assert error.suggestion == suggestion
    assert key.split(".")[0] in str(error) or key == "cache.pth"


@pytest.mark.parametrize("key", ["caFile", "authenticationPage", "authenticationErrorPage", "certificateFile"])
def test_a_file_name_too_long_is_a_short_config_error(key):
    """Path.is_file() raises ENAMETOOLONG past 255 bytes; the message names the key and does not echo it all."""
    with pytest.raises(ConfigError) as caught:
        OAuth2Provider({"clientId": CLIENT, "cache": False, "tenant": TENANT, key: "a" * 5000})
    assert caught.value.key == key and caught.value.code == 3
    assert str(caught.value).startswith(key) and "File name too long" in str(caught.value)
    assert len(str(caught.value)) < 200


def test_params_must_be_a_mapping():
    with pytest.raises(ConfigError) as caught:
        OAuth2Provider(["clientId"])
    assert caught.value.code == 10


def test_secret_never_in_a_config_error():
    secret = "Very~Secret~Value-1234567890"
    for params in ({"clientSecret": secret, "redirectURI": "https://a.example/cb"},
                   {"clientSecret": secret, "permission": "service"},
                   {"clientSecret": secret, "privateKey": "x", "thumbprint": "A" * 40, "tenant": TENANT}):
        with pytest.raises(ConfigError) as caught:
            config(**params)
        assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_encrypted_key_without_password(certificate):
    *_, encrypted = certificate
    with pytest.raises(ConfigError) as caught:
        config(permission="service", tenant=TENANT, certificateFile=str(encrypted))
    assert caught.value.key == "certificateFile" and "certificatePassword" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        config(permission="service", tenant=TENANT, certificateFile=str(encrypted), certificatePassword="wrong")
    assert caught.value.key == "certificateFile"
