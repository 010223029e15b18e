"""Each command as a script or a mail client runs it: described, strict about its flags, and exit status meaning."""

from __future__ import annotations

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal.cli import build_parser

COMMANDS = ("login", "token", "accounts", "logout", "emulator", "mail-check", "demo")


def test_the_commands_are_all_here():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(subparsers.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_description_in_its_help(cli, command):
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    description = subparsers.choices[command].description
    assert description and len(description) > 40, f"{command} has no description"
    done = cli(command, "--help")
    assert done.returncode == 0, done.stderr
    assert " ".join(description.split()[:4]) in " ".join(done.stdout.split())


@pytest.mark.parametrize("args", [
    ["accounts", "--scope", "Mail.Read"], ["accounts", "--timeout", "5"], ["accounts", "--device-code"],
    ["logout", "--redirect-uri", "http://localhost"], ["logout", "--scope", "Mail.Read"],
    ["login", "--json"], ["accounts", "--non-interactive"], ["login", "--non-interactive"],
], ids=" ".join)
def test_a_flag_the_command_would_ignore_is_refused(cli, args):
    done = cli(*args, "--client-id", "00000000-0000-0000-0000-000000000001")
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr, done.stderr


@pytest.mark.parametrize("args, key", [
    (["--redis-prefix", "svc"], "redis-prefix"),
    (["--no-cache", "--allow-unencrypted"], "allow-unencrypted"),
])
def test_a_flag_that_would_have_no_effect_with_another_is_refused(cli, args, key):
    done = cli("token", "--client-id", "00000000-0000-0000-0000-000000000001", *args)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("netkit-msal: error: ") and key in done.stderr, done.stderr


def test_logout_of_an_unknown_user_fails_and_of_a_known_one_succeeds(emu, cli, params_file, tmp_path):
    emu.install_browser()
    params = emu.params(cache={"path": str(tmp_path / "tokens.bin"), "allowUnencrypted": True})
    user = OAuth2Provider(params).get_token().username
    path = params_file(params)

    unknown = cli("logout", "--params", path, "nobody@contoso.example")
    assert unknown.returncode == 1 and "nobody@contoso.example" in unknown.stderr, unknown
    known = cli("logout", "--params", path, user)
    assert known.returncode == 0 and user in known.stdout, known.stderr
    again = cli("logout", "--params", path, "--username", user)
    assert again.returncode == 1, again


@pytest.mark.parametrize("args", [["--port", "99999"], ["--port", "-1"], ["--port", "http"]])
def test_emulator_port_out_of_range_is_an_argparse_error(cli, tmp_path, args):
    done = cli("emulator", "--state-dir", str(tmp_path / "state"), *args)
    assert done.returncode == 2 and "--port" in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("where", ["file", "below-a-file"])
def test_emulator_state_dir_on_a_file_is_one_line(cli, tmp_path, where):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    done = cli("emulator", "--state-dir", str(afile if where == "file" else afile / "sub"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("netkit-msal: error: --state-dir") and done.stderr.count("\n") == 1, done.stderr
