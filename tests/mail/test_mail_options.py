"""Bad ``host``, ``port`` and ``timeout`` options are a ConfigError naming them, before any connection."""

from __future__ import annotations

import pytest

from netkit_msal import ConfigError, mail
from netkit_msal.cli import main

OPENERS = {"imap": mail.imap, "pop3": mail.pop3, "smtp": mail.smtp}
BAD = [("timeout", "x"), ("timeout", -1), ("timeout", 0), ("timeout", float("nan")), ("timeout", float("inf")),
       ("timeout", True), ("timeout", None), ("timeout", 10 ** 9),
       ("port", "x"), ("port", "993"), ("port", -1), ("port", 0), ("port", 65536), ("port", True), ("port", 993.0),
       ("host", ""), ("host", 42), ("host", None)]


class NoProvider:
    """A source that fails the test if asked: options are checked before a token is fetched."""

    def get_token(self, scopes=None):
        raise AssertionError("a token was asked for before the options were checked")


@pytest.mark.parametrize("key, value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
@pytest.mark.parametrize("protocol", OPENERS)
def test_a_bad_option_is_a_config_error_naming_it(protocol, key, value):
    options = {"host": "127.0.0.1", "port": 1, "tls": "none", "timeout": 5, key: value}
    with pytest.raises(ConfigError) as caught:
        OPENERS[protocol](NoProvider(), **options)
    assert caught.value.key == key and key in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        mail.check_connection(protocol, NoProvider(), **options)
    assert caught.value.key == key


@pytest.mark.parametrize("args, key", [(["--timeout", "-1"], "timeout"), (["--timeout", "nan"], "timeout"),
                                       (["--timeout", "0"], "timeout"), (["--port", "0"], "port"),
                                       (["--port", "70000"], "port")])
def test_mail_check_prints_one_line_for_a_bad_option(tmp_path, capsys, args, key):
    token_file = tmp_path / "token.txt"
    token_file.write_text("opaque-access-token")
    code = main(["mail-check", "imap", "--token-file", str(token_file), "--host", "127.0.0.1", "--tls", "none",
                 "--user", "adele@contoso.example", *args])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("netkit-msal: error: ") and key in err


@pytest.mark.parametrize("ca_file", ["\x00", "/nonexistent.pem", "/etc/hostname"])
@pytest.mark.parametrize("protocol", OPENERS)
def test_a_ca_file_that_cannot_be_loaded_is_a_config_error(mint, protocol, ca_file):
    with pytest.raises(ConfigError) as caught:
        mail.check_connection(protocol, mint(), host="127.0.0.1", port=1, tls="implicit", ca_file=ca_file)
    assert caught.value.key == "ca_file"
