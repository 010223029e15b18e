"""The Dovecot harness's own checks (no server started)."""

from __future__ import annotations

import os

import pytest

from netkit_msal import ConfigError
from netkit_msal.emulator.dovecot import DovecotServer


def test_the_harness_needs_an_emulator_or_key_material():
    with pytest.raises(ConfigError, match="signing_public_key_pem") as caught:
        DovecotServer(issuer="https://issuer.example/v2.0", kid="k", client_ids=["app"])
    assert caught.value.key == "signing_public_key_pem"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's Dovecot drops to the dovecot user")
def test_a_workdir_dovecots_users_cannot_enter_is_refused_with_the_reason(mail_emulator, tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(ConfigError, match="cannot enter") as caught:
        DovecotServer(mail_emulator, closed / "dovecot").start()
    assert caught.value.key == "workdir"
