"""Parameter objects from azure-identity's environment variables and from JSON files."""

import json

import pytest

from netkit_msal import ConfigError, params_from_environment, params_from_file


def test_azure_variables_become_parameter_keys():
    params = params_from_environment({
        "AZURE_CLIENT_ID": "id", "AZURE_TENANT_ID": "contoso.example", "AZURE_CLIENT_SECRET": "s3cr3t-value",
        "AZURE_AUTHORITY_HOST": "login.microsoftonline.us", "AZURE_UNRELATED": "x", "AZURE_CLIENT_CERTIFICATE_PATH": "",
    })
    assert params == {"clientId": "id", "tenant": "contoso.example", "clientSecret": "s3cr3t-value",
                      "authority": "https://login.microsoftonline.us"}


def test_a_parameter_file_is_read_or_refused_with_the_key_named(tmp_path):
    good = tmp_path / "params.json"
    good.write_text(json.dumps({"clientId": "id"}), encoding="utf-8")
    assert params_from_file(good) == {"clientId": "id"}
    for content in ("not json", "[1, 2]"):
        bad = tmp_path / "bad.json"
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            params_from_file(bad)
        assert caught.value.key == "params" and str(bad) in str(caught.value)
    with pytest.raises(ConfigError, match="cannot read"):
        params_from_file(tmp_path / "missing.json")
