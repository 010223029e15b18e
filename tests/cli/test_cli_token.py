"""``netkit-msal token`` as passwordeval, PassCmd and cron run it: never a prompt when told so, and a second run
on a machine with no keyring answers from the cache instead of signing in again."""

from __future__ import annotations

import json
import os
import stat

import pytest

from netkit_msal import OAuth2Provider


def test_non_interactive_fails_at_once_when_a_sign_in_is_needed(emu, cli, params_file, tmp_path):
    # The device code flow would print a code and wait 15 minutes for a person; the browser flow would wait too.
    for flow in ("deviceCode", "browser"):
        path = params_file(emu.params(cache={"path": str(tmp_path / f"{flow}.bin"), "allowUnencrypted": True},
                                      flow=flow, timeout=600), name=f"{flow}.json")
        emu.reset_stats()
        done = cli("token", "--non-interactive", "--params", path, timeout=60)
        assert done.returncode == 1 and done.stdout == "", done
        assert done.stderr.startswith("netkit-msal: error: ") and "--non-interactive" in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert not any(emu.stats().get(name) for name in ("devicecode", "authorize", "token")), emu.stats()


def test_non_interactive_answers_from_the_cache_or_by_a_silent_refresh(emu, cli, params_file, tmp_path):
    emu.install_browser()
    params = emu.params(cache={"path": str(tmp_path / "tokens.bin"), "allowUnencrypted": True})
    token = OAuth2Provider(params).get_token()
    emu.reset_stats()
    done = cli("token", "--non-interactive", "--params", params_file(params))
    assert done.returncode == 0 and done.stdout.strip() == token.access_token, done.stderr
    assert sum(emu.stats().values()) == 0, emu.stats()

    emu.set_token_lifetime(60)  # MSAL refreshes a token this close to its end
    soon_over = OAuth2Provider(params).get_token(force_refresh=True)
    emu.reset_stats()
    refreshed = cli("token", "--non-interactive", "--params", params_file(params))
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stdout.strip() not in ("", soon_over.access_token) and emu.stats().get("token") == 1


def test_without_a_keyring_the_second_run_does_not_sign_in_again(emu, cli, params_file):
    """The Azure CLI's convention: an owner-only file in the per-user cache folder, said once on stderr."""
    params = emu.params("service")  # no "cache": the default
    path = params_file(params)

    first = cli("login", "--params", path)
    assert first.returncode == 0, first.stderr
    if "(encrypted" in first.stdout:
        pytest.skip("this machine has a keyring: the cache is encrypted and nothing needs saying")
    assert "plaintext, owner-only" in first.stdout and str(cli.cache_dir) in first.stdout, first.stdout
    assert first.stderr.count("--allow-unencrypted") == 1 and "--no-cache" in first.stderr, first.stderr
    files = [p for p in cli.cache_dir.iterdir() if p.suffix == ".bin"]
    assert len(files) == 1 and stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cli.cache_dir).st_mode) == 0o700

    emu.reset_stats()
    second = cli("token", "--params", path)
    assert second.returncode == 0 and second.stdout.strip(), second.stderr
    assert sum(emu.stats().values()) == 0, emu.stats()  # no sign-in, not even a request
    assert second.stderr == ""  # said once

    quiet = cli("token", "--params", path, "--allow-unencrypted", "--cache", str(cli.cache_dir / "other.bin"))
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    memory = cli("token", "--params", path, "--no-cache")
    assert memory.returncode == 0 and memory.stderr == "", memory.stderr
    assert not (cli.cache_dir / "other.bin").exists() or (cli.cache_dir / "other.bin").stat().st_size > 0


def test_an_explicit_allow_unencrypted_false_is_respected(emu, cli, params_file):
    params = emu.params("service", cache={"allowUnencrypted": False})
    done = cli("login", "--params", params_file(params))
    assert done.returncode == 0, done.stderr
    if "(encrypted" not in done.stdout:
        assert "Token cache: in memory" in done.stdout, done.stdout
        assert not any(cli.cache_dir.glob("*.bin"))


@pytest.mark.parametrize("where", ["file", "token"])
def test_json_nested_very_deep_is_a_one_line_error(emu, cli, tmp_path, where):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "params.json"
    if where == "file":
        path.write_text(deep)
    else:  # a saved token object is JSON text inside the parameter object
        path.write_text(json.dumps({"clientId": emu.params()["clientId"], "token": deep}))
    for command in (["token"], ["login"], ["mail-check", "imap"]):
        done = cli(*command, "--params", str(path), timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert done.stderr.startswith("netkit-msal: error: ") and "nested too deeply" in done.stderr


@pytest.mark.parametrize("flag", ["--params", "--token-file"])
def test_files_that_are_not_regular_are_refused_at_once(cli, tmp_path, flag):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it would block for ever: nobody writes
    for target in (str(fifo), "/dev/zero", str(tmp_path)):
        command = ["mail-check", "imap"] if flag == "--token-file" else ["token"]
        done = cli(*command, flag, target, timeout=60)
        assert done.returncode == 1 and "is not a regular file" in done.stderr, done.stderr
