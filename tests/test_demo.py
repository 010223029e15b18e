"""The README's first command: `netkit-msal demo` runs to the end on the embedded emulator."""

import subprocess
import sys

import pytest
import secrets_guard


@pytest.mark.parametrize("flags", [[], ["--browser"]], ids=["device-code", "browser"])
def test_demo_runs_end_to_end_without_showing_a_secret(flags):
    result = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "demo", *flags],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Token received" in out and "(redacted," in out
    assert "/me: Adele Vance <adele@contoso.example>" in out
    assert "send: success=True" in out and "sendMail requests seen by the emulator: 1" in out
    assert "the same token, 0 HTTP requests reached the emulator" in out
    assert secrets_guard.find_secret([out, result.stderr]) is None
