"""``netkit-msal emulator`` starts, prints a usable description, serves, and stops on SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys

import msal
import requests

from netkit_msal.cli import build_parser


def _start(tmp_path, *args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-m", "netkit_msal.cli", "emulator", "--state-dir", str(tmp_path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:  # the JSON object ends with a lone closing brace
        lines.append(line)
        if line.rstrip("\n") == "}":
            break
    return proc, json.loads("".join(lines))


def test_emulator_command(tmp_path):
    proc, info = _start(tmp_path, "--token-lifetime", "900")
    try:
        params = info["params"]["service"]
        assert {"authority", "caFile", "tenant", "graphEndpoint", "clientId", "clientSecret", "scope"} <= set(params)
        assert set(info["endpoints"]) >= {"discovery", "authorize", "token", "devicecode", "jwks", "graph"}
        assert info["caFile"] == str(tmp_path / "ca.pem") and info["users"][0]["upn"]
        assert info["params"]["signedIn"]["loginHint"] == info["users"][0]["upn"]
        session = requests.Session()
        session.trust_env, session.verify = False, params["caFile"]
        app = msal.ConfidentialClientApplication(params["clientId"], client_credential=params["clientSecret"],
                                                 authority=params["authority"], http_client=session,
                                                 instance_discovery=False)
        result = app.acquire_token_for_client(params["scope"])
        assert result.get("expires_in") == 900, result
        assert "PRIVATE KEY" not in json.dumps(info)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_options_are_parsed():
    args = build_parser().parse_args(["emulator", "--port", "8443", "--no-auto-approve", "--token-lifetime", "60"])
    assert (args.port, args.no_auto_approve, args.token_lifetime) == (8443, True, 60)
    assert args.func.__name__ == "run"


def test_default_state_dir(monkeypatch, tmp_path):
    from pathlib import Path

    from netkit_msal.emulator import default_state_dir

    monkeypatch.setenv("NETKIT_MSAL_EMULATOR_DIR", str(tmp_path))
    assert default_state_dir() == tmp_path
    monkeypatch.delenv("NETKIT_MSAL_EMULATOR_DIR")
    assert default_state_dir() == Path.home() / ".cache" / "netkit-msal" / "emulator"
