"""``netkit-msal login | token | accounts | logout``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netkit_msal import ConfigError, OAuth2Provider
from netkit_msal.cli import main


def params_file(tmp_path, params) -> str:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    return str(path)


def cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netkit_msal.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.fixture
def signed_in(emu, file_cache, tmp_path):
    """A user signed in into a file cache, and the --params file describing it."""
    emu.install_browser()
    params = emu.params(cache=file_cache)
    token = OAuth2Provider(params).get_token()
    return params_file(tmp_path, params), token


def test_token_in_a_new_process_makes_zero_requests(emu, signed_in):
    path, token = signed_in
    emu.reset_stats()
    done = cli("token", "--params", path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == token.access_token
    assert sum(emu.stats().values()) == 0, emu.stats()


def test_token_json_is_the_4d_object(emu, signed_in):
    path, token = signed_in
    done = cli("token", "--json", "--params", path)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["token"]["access_token"] == token.access_token
    assert printed["tokenExpiration"] == token["tokenExpiration"]


def test_login_accounts_logout(emu, signed_in, capsys):
    path, token = signed_in
    assert main(["login", "--params", path]) == 0
    out = capsys.readouterr().out
    assert token.username in out and "Token cache: file" in out and token.access_token not in out
    assert main(["accounts", "--params", path]) == 0
    assert capsys.readouterr().out.split("\t")[0] == token.username
    assert main(["accounts", "--json", "--params", path]) == 0
    assert json.loads(capsys.readouterr().out)[0]["username"] == token.username
    assert main(["logout", "--params", path, "nobody@contoso.example"]) == 1  # a script must see it failed
    assert "no account 'nobody@contoso.example'" in capsys.readouterr().err
    assert main(["logout", "--params", path, token.username]) == 0
    assert token.username in capsys.readouterr().out
    assert main(["accounts", "--params", path]) == 0
    assert capsys.readouterr().out == ""


def test_flags_override_the_file(emu, signed_in, capsys):
    path, _ = signed_in
    second = emu.users[1].upn
    emu.install_browser()
    assert main(["login", "--params", path, "--username", second, "--scope", "Mail.Read"]) == 0
    assert second in capsys.readouterr().out


def test_service_from_azure_identity_environment(emu, tmp_path, capsys):
    env = {"AZURE_CLIENT_ID": emu.params("service")["clientId"], "AZURE_TENANT_ID": emu.tenant_id,
           "AZURE_CLIENT_SECRET": emu.params("service")["clientSecret"], "AZURE_AUTHORITY_HOST": emu.url}
    from netkit_msal.cli import build_parser
    from netkit_msal.cli._auth_cmds import build_params

    args = build_parser().parse_args(["login", "--ca-file", emu.ca_file, "--no-cache"])
    params = build_params(args, env)
    assert params["authority"] == emu.url and params["cache"] is False
    provider = OAuth2Provider(params)
    assert provider.config.permission == "service" and provider.config.authority == emu.authority
    assert provider.get_token().access_token_claims["roles"]


def test_service_login_in_a_process_with_the_environment(emu):
    import os

    service = emu.params("service")
    env = dict(os.environ, AZURE_CLIENT_ID=service["clientId"], AZURE_TENANT_ID=emu.tenant_id,
               AZURE_CLIENT_SECRET=service["clientSecret"], AZURE_AUTHORITY_HOST=emu.url.split("://")[1])
    done = cli("login", "--ca-file", emu.ca_file, "--no-cache", env=env)
    assert done.returncode == 0, done.stderr
    assert "Signed in: app" in done.stdout and service["clientSecret"] not in done.stdout + done.stderr


def test_config_error_is_one_line(tmp_path, capsys):
    path = params_file(tmp_path, {"clientId": "x", "scopes": "User.Read"})
    assert main(["token", "--params", path]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "netkit-msal: error: unknown parameter 'scopes'; did you mean 'scope'?"


@pytest.mark.parametrize("content, words", [("{", "not JSON"), ("[1]", "JSON object")])
def test_bad_params_file(tmp_path, capsys, content, words):
    path = tmp_path / "params.json"
    path.write_text(content)
    assert main(["token", "--params", str(path)]) == 1
    assert words in capsys.readouterr().err
    assert main(["token", "--params", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_redis_cache_flags_take_the_key_from_the_environment():
    from netkit_msal.cli import build_parser
    from netkit_msal.cli._auth_cmds import REDIS_KEY_VARIABLE, build_params

    args = build_parser().parse_args(["token", "--client-id", "x", "--redis", "redis://127.0.0.1:6379/0",
                                      "--redis-prefix", "svc"])
    params = build_params(args, {REDIS_KEY_VARIABLE: "k" * 32})
    assert params["cache"] == {"redis": "redis://127.0.0.1:6379/0", "encryptionKey": "k" * 32, "prefix": "svc"}
    with pytest.raises(ConfigError, match=REDIS_KEY_VARIABLE) as caught:
        build_params(args, {})
    assert caught.value.key == "cache.encryptionKey"
    with pytest.raises(SystemExit):  # one cache only
        build_parser().parse_args(["token", "--redis", "redis://127.0.0.1:6379/0", "--no-cache"])
