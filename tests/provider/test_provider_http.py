"""The provider's HTTP: system CAs plus caFile whatever REQUESTS_CA_BUNDLE says; proxies never for loopback."""

from __future__ import annotations

import ssl

import pytest
import requests

from netkit_msal import OAuth2Provider
from netkit_msal._http import make_session


def discovery(emu) -> str:
    return f"{emu.authority}/v2.0/.well-known/openid-configuration"


def test_ca_file_is_trusted_despite_requests_ca_bundle(emu, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    monkeypatch.setenv("CURL_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    provider = OAuth2Provider(emu.params(cache=False))
    assert provider.http_session().get(discovery(emu)).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        make_session(None).get(discovery(emu))


def test_ssl_context_trusts_the_ca_file_and_the_system(emu):
    import socket

    context = OAuth2Provider(emu.params(cache=False)).ssl_context()
    assert context.cert_store_stats()["x509_ca"] > 1  # the system's CAs are there too
    with socket.create_connection(("127.0.0.1", emu.port)) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version()


def test_environment_proxy_is_not_used_for_loopback(emu, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # the discard port: nothing listens
    session = OAuth2Provider(emu.params(cache=False)).http_session()
    assert session.get(discovery(emu)).status_code == 200


def test_default_timeout_is_capped_by_the_timeout_parameter():
    session = make_session(None, 5)
    assert session.timeout == (5, 5)
    assert make_session(None).timeout == (10.0, 30.0)
