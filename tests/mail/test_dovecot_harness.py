"""The Dovecot harness's own checks (no server started)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from netkit_msal import ConfigError
from netkit_msal.emulator.dovecot import DovecotServer


def test_the_harness_needs_an_emulator_or_key_material():
    with pytest.raises(ConfigError, match="signing_public_key_pem") as caught:
        DovecotServer(issuer="https://issuer.example/v2.0", kid="k", client_ids=["app"])
    assert caught.value.key == "signing_public_key_pem"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's Dovecot drops to the dovecot user")
def test_a_workdir_dovecots_users_cannot_enter_is_refused_with_the_reason(mail_emulator):
    closed = Path(tempfile.mkdtemp(prefix="netkit-closed-"))  # mode 0700, owned by root
    try:
        with pytest.raises(ConfigError, match="cannot enter") as caught:
            DovecotServer(mail_emulator, closed / "dovecot").start()
        assert caught.value.key == "workdir"
    finally:
        shutil.rmtree(closed)


def test_start_retries_when_a_chosen_port_was_taken_meanwhile(mail_emulator, monkeypatch):
    from netkit_msal.emulator import dovecot as harness

    if harness.dovecot_binary() is None:
        pytest.skip("dovecot is not installed")
    real_free_ports = harness._free_ports
    handed_out = []

    def first_listener_port_taken(count, *host):
        ports = real_free_ports(count, *host)
        if count > 1:
            if not handed_out:
                ports[0] = squatter.getsockname()[1]
            handed_out.append(ports)
        return ports

    with socket.socket() as squatter:
        squatter.bind((DovecotServer.host, 0))
        squatter.listen()
        monkeypatch.setattr(harness, "_free_ports", first_listener_port_taken)
        with DovecotServer(mail_emulator) as server:
            assert server.ports["imap"] != squatter.getsockname()[1]
    assert len(handed_out) == 2


def test_a_workdir_too_long_for_unix_sockets_is_refused(mail_emulator):
    with pytest.raises(ConfigError, match="too long") as caught:
        DovecotServer(mail_emulator, "/tmp/" + "x" * 100).start()
    assert caught.value.key == "workdir"
