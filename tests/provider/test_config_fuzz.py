"""Any parameter object gives a Config or a ConfigError naming a key: never another exception."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netkit_msal import ConfigError
from netkit_msal._config import KEYS, parse_config

CLIENT = "7008ebf5-4c2e-4b8a-9d1f-0a1b2c3d4e5f"
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["https://[::1", "http://127.0.0.1:0/", "https://login.microsoftonline.com/x", "\x00",
                     "common", "service", "signedIn", "User.Read", "https://h/t/oauth2/v2.0/token", "a" * 5000,
                     "2030-01-01T00:00:00Z", "http://[::1]:99999/", "-----BEGIN PRIVATE KEY-----\nAA\n"]),
)
values = st.one_of(texts, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
                   st.lists(texts, max_size=3), st.dictionaries(texts, texts, max_size=2))
keys = st.one_of(st.sampled_from(sorted(KEYS)), st.text(max_size=12))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_any_parameter_object(params):
    params = {"clientId": CLIENT, "cache": False, **params}
    try:
        parse_config(params)
    except ConfigError as error:
        assert error.key is not None and error.code in (2, 3, 9, 10, 13, 15), (error.key, error.code, str(error))


@pytest.mark.parametrize("key, value, code", [
    ("authority", "https://[::1", 3), ("redirectURI", "http://[::1", 3), ("graphEndpoint", "https://[::1", 3),
    ("authenticateURI", "https://[::1/oauth2/v2.0/authorize", 3), ("authenticationPage", "https://[::1/ok", 3),
    ("certificateFile", "\x00", 3), ("caFile", "\x00", 3), ("timeout", math.inf, 13), ("timeout", math.nan, 3),
    ("timeout", -1, 3),
])
def test_malformed_values(key, value, code):
    with pytest.raises(ConfigError) as caught:
        parse_config({"clientId": CLIENT, "cache": False, "tenant": "contoso.example", key: value})
    assert caught.value.key == key and caught.value.code == code
