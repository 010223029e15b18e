"""The fast path (``cache._fast``) gives MSAL's answer or none: real sign-ins at the emulator write the cache file,
then the file is read both ways (the fast path; the provider's MSAL path) and the answers compared.

The fast path answers only what is plain: where it declines (None), the provider takes MSAL's path, so the case
is right as long as it never answers something MSAL would not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from netkit_msal import CacheError, InteractionRequiredError, NetKitError, OAuth2Provider
from netkit_msal._config import parse_config
from netkit_msal._provider import CACHE_NAME
from netkit_msal.cache._fast import MSAL_EXPIRY_MARGIN, cached_token

GRAPH = "https://graph.microsoft.com"


@pytest.fixture
def emu(emulator):
    emulator.set_token_lifetime(3600)
    emulator.reset_stats()
    yield emulator
    emulator.set_token_lifetime(3600)


@pytest.fixture
def cache_file(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    return folder / "tokens.bin"


def params_of(emu, cache_file, user=None, **overrides):
    params = {"flow": "browser", "loginHint": (user or emu.users[0]).upn,
              "cache": {"path": str(cache_file), "allowUnencrypted": True}}
    return emu.params("signedIn", **{**params, **overrides})


def sign_in(emu, cache_file, user=None, **overrides):
    """A real browser sign-in (headless) by MSAL into the cache file; returns the parameters used."""
    user = user or emu.users[0]
    emu.install_browser(user.upn)
    params = params_of(emu, cache_file, user, **overrides)
    with OAuth2Provider(params) as provider:
        provider.get_token()
    return params


def fast(params, scopes=None):
    """The fast path's answer for ``params`` (what a new provider's first ``get_token`` would try)."""
    config = parse_config(params)
    return cached_token(config.cache, name=CACHE_NAME, client_id=config.client_id, authority=config.authority,
                        scopes=tuple(scopes) if scopes else config.scope, login_hint=config.login_hint,
                        offline=config.offline)


def through_msal(emu, params, scopes=None):
    """MSAL's answer: a new provider whose MSAL app is built first (so the fast path is not tried), and the token
    requests it made. An exception is the answer when MSAL's path raises."""
    with OAuth2Provider(params) as provider:
        try:
            provider.accounts()  # builds MSAL's application: get_token() then takes MSAL's path
            emu.reset_stats()
            answer = provider.get_token(scopes, interactive=False)
        except NetKitError as exc:
            answer = exc
        return answer, emu.stats().get("token", 0), provider.username


def assert_same_token(found, msal_answer):
    token, account = found
    expected, requests, username = msal_answer
    assert requests == 0, "MSAL answered from its cache too"
    assert token.access_token == expected.access_token
    assert token.id_token == expected.id_token and token.refresh_token == expected.refresh_token
    assert token.username == expected.username == username == account["username"]
    assert token.tenant_id == expected.tenant_id and token.scopes == expected.scopes
    assert abs((token.expires_on - expected.expires_on).total_seconds()) <= 1  # whole seconds, read 1 s apart
    mine, theirs = token.to_dict()["token"], expected.to_dict()["token"]
    assert abs(mine.pop("expires_in") - theirs.pop("expires_in")) <= 1
    assert mine == theirs


def test_a_valid_token_is_msal_s_token(emu, cache_file):
    params = sign_in(emu, cache_file)
    found = fast(params)
    assert found is not None
    assert_same_token(found, through_msal(emu, params))


def test_offline_access_also_gives_msal_s_refresh_token(emu, cache_file):
    params = sign_in(emu, cache_file, accessType="offline")
    found = fast(params)
    assert found is not None and found[0].refresh_token
    assert_same_token(found, through_msal(emu, params))


def test_fewer_scopes_than_cached_are_the_cached_token(emu, cache_file):
    params = sign_in(emu, cache_file)
    found = fast(params, [f"{GRAPH}/User.Read"])
    assert found is not None
    assert_same_token(found, through_msal(emu, params, [f"{GRAPH}/User.Read"]))


def test_scopes_not_cached_are_left_to_msal(emu, cache_file):
    params = sign_in(emu, cache_file, scope=[f"{GRAPH}/User.Read"])
    assert fast(params, [f"{GRAPH}/Mail.Send"]) is None
    token, requests, _ = through_msal(emu, params, [f"{GRAPH}/Mail.Send"])
    assert requests == 1 and "Mail.Send" in token.access_token_claims["scp"]  # MSAL redeemed the refresh token


def test_a_token_within_msal_s_margin_is_left_to_msal(emu, cache_file):
    emu.set_token_lifetime(MSAL_EXPIRY_MARGIN - 60)  # valid for 4 minutes: expired for MSAL
    params = sign_in(emu, cache_file)
    emu.set_token_lifetime(3600)
    assert fast(params) is None
    token, requests, _ = through_msal(emu, params)
    assert requests == 1 and token.valid  # MSAL refreshed it


def test_another_signed_in_account_is_found_by_login_hint(emu, cache_file):
    first, second = emu.users[0], emu.users[1]
    sign_in(emu, cache_file, first)
    sign_in(emu, cache_file, second)
    for user in (first, second):
        hinted = params_of(emu, cache_file, user)
        found = fast(hinted)
        assert found is not None and found[0].username == user.upn
        assert_same_token(found, through_msal(emu, hinted))


def test_several_accounts_and_no_hint_are_left_to_msal(emu, cache_file):
    sign_in(emu, cache_file, emu.users[0])
    sign_in(emu, cache_file, emu.users[1])
    params = params_of(emu, cache_file, loginHint=None)
    assert fast(params) is None
    answer, requests, _ = through_msal(emu, params)
    assert isinstance(answer, NetKitError) and "account=" in str(answer) and requests == 0


def test_the_only_account_needs_no_hint(emu, cache_file):
    sign_in(emu, cache_file)
    params = params_of(emu, cache_file, loginHint=None)
    found = fast(params)
    assert found is not None
    assert_same_token(found, through_msal(emu, params))


def test_an_account_not_signed_in_is_left_to_msal(emu, cache_file):
    sign_in(emu, cache_file, emu.users[0])
    params = params_of(emu, cache_file, emu.users[2])
    assert fast(params) is None
    answer, requests, _ = through_msal(emu, params)
    assert isinstance(answer, InteractionRequiredError) and requests == 0


def test_another_tenant_is_left_to_msal(emu, cache_file):
    params = sign_in(emu, cache_file)
    elsewhere = dict(params, tenant="organizations", authority=f"{emu.url}/organizations")
    assert fast(elsewhere) is None
    token, requests, _ = through_msal(emu, elsewhere)
    assert requests == 1 and token.valid  # no cached token for that authority: MSAL redeemed the refresh token


def test_another_app_is_left_to_msal(emu, cache_file):
    params = sign_in(emu, cache_file)
    assert fast(dict(params, clientId="00000000-0000-4000-8000-00000000abcd")) is None


@pytest.mark.parametrize("content", ["{not json", "[]", '{"AccessToken": []}', "\udcff"])
def test_a_corrupted_file_is_left_to_msal(emu, cache_file, content):
    params = sign_in(emu, cache_file)
    cache_file.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert fast(params) is None
    with pytest.warns(RuntimeWarning, match="could not be read"):
        answer, requests, _ = through_msal(emu, params)
    assert isinstance(answer, InteractionRequiredError) and requests == 0  # MSAL's path moved it aside


def test_a_file_others_may_write_is_not_read(emu, cache_file):
    params = sign_in(emu, cache_file)
    cache_file.chmod(0o666)
    assert fast(params) is None  # the store never writes this: someone else did
    token, requests, _ = through_msal(emu, params)
    assert requests == 0 and token.valid


def test_a_folder_others_may_write_is_refused_on_both_paths(emu, cache_file):
    params = sign_in(emu, cache_file)
    cache_file.parent.chmod(0o777)
    try:
        assert fast(params) is None
        answer, _, _ = through_msal(emu, params)
        assert isinstance(answer, CacheError) and "writable by others" in str(answer)
    finally:
        cache_file.parent.chmod(0o700)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_file_of_another_user_is_refused_on_both_paths(emu, cache_file):
    params = sign_in(emu, cache_file)
    os.chown(cache_file, 4321, -1)
    assert fast(params) is None
    answer, _, _ = through_msal(emu, params)
    assert isinstance(answer, CacheError) and "belongs to user id 4321" in str(answer)


def test_a_link_beside_the_file_is_refused_on_both_paths(emu, cache_file, tmp_path):
    params = sign_in(emu, cache_file)
    companion = cache_file.with_name(cache_file.name + ".http.json")
    companion.unlink(missing_ok=True)
    companion.symlink_to(tmp_path / "elsewhere.json")
    assert fast(params) is None
    answer, _, _ = through_msal(emu, params)
    assert isinstance(answer, CacheError) and "symbolic link" in str(answer)


def test_without_allow_unencrypted_the_store_decides(emu, cache_file):
    params = sign_in(emu, cache_file)
    assert fast(dict(params, cache={"path": str(cache_file)})) is None  # the store warns once there
    assert fast(dict(params, cache={"path": str(cache_file), "allowUnencrypted": False})) is None  # memory only


def test_a_forced_refresh_never_takes_the_fast_path(emu, cache_file):
    params = sign_in(emu, cache_file)
    emu.reset_stats()
    with OAuth2Provider(params) as provider:
        provider.get_token(force_refresh=True)
    assert emu.stats().get("token", 0) == 1


def run_child(code, *args):
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


CHILD_API = """\
import json, sys
from netkit_msal import OAuth2Provider
token = OAuth2Provider(json.load(open(sys.argv[1]))).get_token()
heavy = sorted(m for m in ("msal", "requests", "cryptography", "msal_extensions", "urllib3") if m in sys.modules)
print(json.dumps({"sha": __import__("hashlib").sha256(token.access_token.encode()).hexdigest(), "heavy": heavy}))
"""

CHILD_CLI = """\
import contextlib, hashlib, io, json, sys
from netkit_msal.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    status = main(["token", "--params", sys.argv[1]])
heavy = sorted(m for m in ("msal", "requests", "cryptography", "msal_extensions", "urllib3") if m in sys.modules)
print(json.dumps({"status": status, "sha": hashlib.sha256(out.getvalue().strip().encode()).hexdigest(),
                  "heavy": heavy, "groups": sorted(m for m in sys.modules if m.startswith("netkit_msal.cli._"))}))
"""


def test_a_new_process_gets_msal_s_token_without_importing_msal(emu, cache_file, tmp_path):
    import hashlib

    params = sign_in(emu, cache_file)
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(params), encoding="utf-8")
    expected, _, _ = through_msal(emu, params)
    emu.reset_stats()
    api = run_child(CHILD_API, str(params_file))
    cli = run_child(CHILD_CLI, str(params_file))
    assert sum(count for name, count in emu.stats().items() if name != "admin") == 0
    digest = hashlib.sha256(expected.access_token.encode()).hexdigest()
    assert api == {"sha": digest, "heavy": []}
    assert cli["status"] == 0 and cli["sha"] == digest and cli["heavy"] == []
    assert cli["groups"] == ["netkit_msal.cli._auth_cmds", "netkit_msal.cli._files"]  # not the other commands'


def test_the_cli_knows_which_group_registers_each_command():
    from netkit_msal.cli import COMMANDS, build_parser

    def commands(parser):
        return set(next(a for a in parser._actions if a.dest == "command").choices)

    assert set(COMMANDS) == commands(build_parser())
    for command in COMMANDS:
        assert command in commands(build_parser(command))
