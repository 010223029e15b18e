"""4D NetKit parameter objects ported as they are (issue 12): the keys 4D reads, the case of choice values,
and a secret given with a certificate. Checked against 4D NetKit's OAuth2Provider.4dm (4d/4D-NetKit): it
compares choice values with 4D's ``=`` (case-insensitive, spaces count), uses the certificate assertion when a
thumbprint is set whatever ``clientSecret`` holds, and reads ``clientAssertionType``, ``grantType`` and
``enableDebugLog``. Flows run the real MSAL against the emulator, which verifies the client assertion."""

from __future__ import annotations

import logging
import warnings

import pytest

from netkit_msal import ConfigError, OAuth2Provider
from netkit_msal.emulator import CERT_CLIENT_ID, SECRET_CLIENT_ID

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def service_params(emu, **overrides):
    return emu.params("service", **{"cache": False, **overrides})


def certificate_key(emu) -> str:
    with open(emu.client_certificate_path) as handle:
        pem = handle.read()
    end = "-----END PRIVATE KEY-----"
    return pem[pem.index("-----BEGIN"):pem.index(end) + len(end)]


@pytest.mark.parametrize("value, expected", [("SIGNEDIN", "signedIn"), ("signedin", "signedIn"),
                                             (" SignedIn ", "signedIn"), ("SERVICE", "service")])
def test_permission_compares_without_case(emu, value, expected):
    params = {**emu.params("signedIn" if expected == "signedIn" else "service", cache=False), "permission": value}
    assert OAuth2Provider(params).config.permission == expected


def test_permission_with_a_space_is_refused_as_in_4d(emu):
    with pytest.raises(ConfigError) as caught:
        OAuth2Provider({**emu.params("signedIn", cache=False), "permission": "Signed In"})
    assert caught.value.key == "permission" and caught.value.code == 3


def test_other_choice_values_compare_without_case(emu):
    config = OAuth2Provider(emu.params("signedIn", accessType="OFFLINE", prompt="Select_Account", cache=False)).config
    assert config.offline is True and config.prompt == "select_account"


def test_service_token_with_uppercase_permission(emu):
    token = OAuth2Provider({**service_params(emu), "permission": "SERVICE"}).get_token()
    assert token.access_token_claims["appid"] == SECRET_CLIENT_ID


@pytest.mark.parametrize("credential", ["certificateFile", "privateKey"])
def test_secret_and_certificate_the_certificate_wins_with_a_warning(emu, credential):
    secret = "Not-The-Secret-Of-This-App-0123456789"  # wrong for the certificate app: a token proves it went unused
    extra = ({"certificateFile": emu.client_certificate_path} if credential == "certificateFile" else
             {"privateKey": certificate_key(emu), "thumbprint": emu.client_certificate_thumbprint,
              "clientAssertionType": JWT_BEARER_ASSERTION})
    params = service_params(emu, clientId=CERT_CLIENT_ID, clientSecret=secret, **extra)
    with pytest.warns(UserWarning, match="certificate is used") as caught:
        provider = OAuth2Provider(params)
    assert all(secret not in str(w.message) for w in caught)
    assert provider.config.client_secret is None and provider.config.private_key
    assert provider.get_token().access_token_claims["appid"] == CERT_CLIENT_ID


def test_client_assertion_type_and_grant_type_are_accepted(emu):
    params = service_params(emu, clientId=CERT_CLIENT_ID, clientSecret=None, privateKey=certificate_key(emu),
                            thumbprint=emu.client_certificate_thumbprint,
                            clientAssertionType=JWT_BEARER_ASSERTION.upper(), grantType="client_credentials")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        provider = OAuth2Provider(params)
    assert provider.get_token().access_token_claims["appid"] == CERT_CLIENT_ID


@pytest.mark.parametrize("key, value, code, words", [
    ("clientAssertionType", "urn:example:other", 3, "jwt-bearer"),
    ("grantType", "password", 3, "client_credentials"),
    ("grantType", "urn:ietf:params:oauth:grant-type:jwt-bearer", 3, "Google"),
    ("enableDebugLog", "yes", 10, "boolean"),
    ("clientAssertionType", 5, 10, "text"),
])
def test_bad_ported_keys_are_config_errors_naming_the_key(emu, key, value, code, words):
    with pytest.raises(ConfigError, match=words) as caught:
        OAuth2Provider(service_params(emu, **{key: value}))
    assert caught.value.key == key and caught.value.code == code


@pytest.fixture
def package_logger():
    """The package logger (tests/conftest.py puts its level and handlers back after each test)."""
    return logging.getLogger("netkit_msal")


def test_enable_debug_log_shows_the_library_debug_records_on_stderr(emu, package_logger, capfd):
    provider = OAuth2Provider(service_params(emu, enableDebugLog=True))
    token = provider.get_token()
    OAuth2Provider(service_params(emu, enableDebugLog=True))  # a second provider adds no second handler
    err = capfd.readouterr().err
    assert package_logger.getEffectiveLevel() == logging.DEBUG
    assert "netkit_msal" in err and "DEBUG" in err and "app token" in err
    assert err.count("app token") == 1
    assert token.access_token not in err and service_params(emu)["clientSecret"] not in err


def test_without_enable_debug_log_nothing_is_shown(emu, package_logger, capfd):
    OAuth2Provider(service_params(emu, enableDebugLog=False)).get_token()
    assert "app token" not in capfd.readouterr().err
