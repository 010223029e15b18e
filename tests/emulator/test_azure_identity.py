"""azure-identity's credentials get tokens from the emulator, unmodified."""

from __future__ import annotations

import jwt
from azure.identity import (
    CertificateCredential,
    ClientSecretCredential,
    DeviceCodeCredential,
    InteractiveBrowserCredential,
)

from netkit_msal.emulator import CERT_CLIENT_ID, GRAPH, PUBLIC_CLIENT_ID, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET


def common(emu) -> dict:
    return {"authority": emu.url, "connection_verify": emu.ca_file, "disable_instance_discovery": True}


def claims(token) -> dict:
    return jwt.decode(token.token, options={"verify_signature": False})


def test_client_secret_credential(emulator):
    credential = ClientSecretCredential(emulator.tenant_id, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET, **common(emulator))
    token = credential.get_token(f"{GRAPH}/.default")
    assert claims(token)["idtyp"] == "app" and token.expires_on > 0


def test_certificate_credential(emulator):
    credential = CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID,
                                       certificate_path=emulator.client_certificate_path, **common(emulator))
    assert claims(credential.get_token(f"{GRAPH}/.default"))["appid"] == CERT_CLIENT_ID


def test_certificate_credential_sending_the_chain(emulator):
    credential = CertificateCredential(emulator.tenant_id, CERT_CLIENT_ID, send_certificate_chain=True,
                                       certificate_path=emulator.client_certificate_path, **common(emulator))
    assert claims(credential.get_token("https://outlook.office365.com/.default"))["roles"]


def test_device_code_credential(emulator):
    prompts = []
    credential = DeviceCodeCredential(PUBLIC_CLIENT_ID, tenant_id=emulator.tenant_id,
                                      prompt_callback=lambda *a: prompts.append(a), **common(emulator))
    token = credential.get_token(f"{GRAPH}/User.Read")
    assert claims(token)["scp"] == "User.Read" and prompts


def test_interactive_browser_credential(emulator):
    browser = emulator.install_browser(emulator.users[4].upn)
    credential = InteractiveBrowserCredential(client_id=PUBLIC_CLIENT_ID, tenant_id=emulator.tenant_id,
                                              timeout=30, **common(emulator))
    token = credential.get_token(f"{GRAPH}/Mail.Read")
    assert claims(token)["upn"] == emulator.users[4].upn
    assert browser.opened and not browser.errors
