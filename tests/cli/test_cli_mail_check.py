"""``netkit-msal mail-check``: one shape for every failure, files only for parameters, and a quick word when the
port speaks TLS from the start but the command was told otherwise."""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import pytest

OUTLOOK = "https://outlook.office.com"
SCOPES = {"imap": f"{OUTLOOK}/IMAP.AccessAsUser.All", "pop3": f"{OUTLOOK}/POP.AccessAsUser.All",
          "smtp": f"{OUTLOOK}/SMTP.Send"}


@pytest.fixture
def token_file(emu, tmp_path):
    def write(protocol: str) -> str:
        path = tmp_path / f"{protocol}-token.txt"
        path.write_text(emu.mint_access_token(emu.users[0].upn, scopes=(SCOPES[protocol],)))
        return str(path)
    return write


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_params_is_a_file_only(emu, cli):
    inline = json.dumps(emu.params("service"))  # a secret in the process list is what this refuses
    done = cli("mail-check", "imap", "--params", inline)
    assert done.returncode == 1 and done.stdout == "", done
    assert done.stderr.startswith("netkit-msal: error: cannot read --params"), done.stderr
    assert "clientSecret" not in done.stderr


@pytest.mark.parametrize("protocol", ["imap", "smtp", "pop3"])
def test_every_error_has_4d_shape(cli, token_file, protocol):
    done = cli("mail-check", protocol, "--token-file", token_file(protocol), "--host", "127.0.0.1",
               "--port", str(_closed_port()), "--tls", "none")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["success"] is False and result["errors"]
    for error in result["errors"]:
        assert set(error) == {"errCode", "message", "componentSignature"}, error  # 4D's error entry
        assert isinstance(error["errCode"], int) and error["message"] and error["componentSignature"]


@pytest.mark.parametrize("protocol, tls", [("imap", "none"), ("imap", "starttls"), ("smtp", "starttls"),
                                           ("pop3", "none")])
def test_an_implicit_tls_port_is_named_instead_of_waiting_for_a_greeting(emu, cli, token_file, protocol, tls):
    """The emulator's HTTPS port, like a mail server's 993/465/995, waits for a TLS ClientHello in silence."""
    port = str(urlsplit(emu.url).port)
    done = cli("mail-check", protocol, "--token-file", token_file(protocol), "--host", "127.0.0.1", "--port", port,
               "--tls", tls, "--timeout", "3600", timeout=60)  # without the check: a wait of an hour
    assert done.returncode == 1 and done.stdout == "", done
    assert "speaks TLS from the start" in done.stderr and "--tls implicit" in done.stderr, done.stderr


def test_a_plain_server_slow_to_greet_is_not_taken_for_tls(emu, cli, token_file):
    """The check opens a second connection; the server greets the first only once that one is over."""
    server = socket.create_server(("127.0.0.1", 0))
    probed = threading.Event()
    said = []

    def serve() -> None:
        first, _ = server.accept()
        second, _ = server.accept()  # the TLS question: a plain server answers with text, and hangs up
        with second:
            second.recv(4096)
            second.sendall(b"* OK not TLS\r\n")
        probed.set()
        with first, first.makefile("rb") as reader:
            first.sendall(b"* OK ready\r\n")
            for line in reader:
                said.append(line)
                tag, command = line.split()[:2]
                if command == b"CAPABILITY":
                    first.sendall(b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n" + tag + b" OK done\r\n")
                elif command == b"AUTHENTICATE":
                    first.sendall(b"+ \r\n")
                    reader.readline()
                    first.sendall(tag + b" NO [AUTHENTICATIONFAILED] not today\r\n")
                    break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with server:
        done = cli("mail-check", "imap", "--token-file", token_file("imap"), "--host", "127.0.0.1",
                   "--port", str(server.getsockname()[1]), "--tls", "none", "--timeout", "60", timeout=90)
        thread.join(60)
    assert probed.is_set() and b"AUTHENTICATE XOAUTH2" in said[-1], (done, said)
    result = json.loads(done.stdout)
    assert done.returncode == 1 and result["success"] is False, done
    assert "not today" in result["statusText"]


def test_params_use_the_cache_login_filled(emu, cli, params_file, monkeypatch):
    """No "cache" in the file: mail-check reads the same per-user cache as `netkit-msal login`, no sign-in."""
    from netkit_msal import OAuth2Provider

    monkeypatch.setenv("NETKIT_MSAL_CACHE_DIR", str(cli.cache_dir))
    emu.install_browser()
    params = emu.params(flow="deviceCode", timeout=30)
    OAuth2Provider(emu.params(cache={"allowUnencrypted": True})).get_token()  # what `login` leaves
    emu.reset_stats()
    done = cli("mail-check", "imap", "--params", params_file(params), "--host", "127.0.0.1",
               "--port", str(_closed_port()), "--tls", "none")
    result = json.loads(done.stdout)
    assert result["errors"][0]["componentSignature"] == "network", result  # not a sign-in that timed out
    assert emu.stats().get("devicecode", 0) == 0, emu.stats()
