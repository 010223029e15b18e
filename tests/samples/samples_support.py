"""Names shared by the sample tests (a top-level module: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: Variables that would send a sample to a real tenant.
TENANT_VARIABLES = ("NETKIT_PARAMS", "NETKIT_USER", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                    "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_AUTHORITY_HOST")
INSTALL = {"dovecot": "apt-get install -y dovecot-imapd dovecot-pop3d dovecot-submissiond dovecot-lmtpd",
           "redis-server": "apt-get install -y redis-server"}


def require_server(program: str) -> None:
    """Skip (fail in CI, where a missing server is a failure) when a server program a sample needs is missing."""
    from netkit_msal.emulator.dovecot import dovecot_binary

    found = dovecot_binary() if program == "dovecot" else shutil.which(program)
    if not found:
        message = f"{program} is not installed: {INSTALL[program]} (or run ./dev test, which installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
