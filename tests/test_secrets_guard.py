import logging

import secrets_guard


def test_finds_jwts_keys_and_registered_secrets():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGVsZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    assert secrets_guard.find_secret([f"Authorization: Bearer {jwt}"]) == "a JWT (access or id token)"
    assert secrets_guard.find_secret(["-----BEGIN PRIVATE KEY-----"]) == "a private key"
    secrets_guard.add_secret("a refresh token", "0.ARrefresh-token-value")
    assert secrets_guard.find_secret(["got 0.ARrefresh-token-value"]) == "a refresh token"
    assert secrets_guard.find_secret(["token acquired for adele@contoso.example"]) is None


def test_debug_records_are_kept_for_the_check():
    logging.getLogger("netkit_msal.test").debug("a harmless line")
    keepers = [h for h in logging.getLogger().handlers if isinstance(h, secrets_guard.RecordKeeper)]
    assert keepers and any("a harmless line" in text for text in keepers[0].texts)
