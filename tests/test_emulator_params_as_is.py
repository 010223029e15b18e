"""`netkit-msal emulator` prints parameter objects that another program can use as they are."""

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    state = tmp_path_factory.mktemp("emulator-cli")
    proc = subprocess.Popen([sys.executable, "-m", "netkit_msal.cli", "emulator", "--state-dir", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    for line in proc.stdout:  # one pretty-printed JSON object, closed by a lone brace
        lines.append(line)
        if line.rstrip("\n") == "}":
            break
    try:
        yield json.loads("".join(lines))
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


_USE_AS_IS = """
import json, sys
from netkit_msal import OAuth2Provider
token = OAuth2Provider(json.loads(sys.argv[1]), on_device_code=lambda flow: None).get_token()
print(json.dumps({"valid": token.valid, "tenant": token.tenant_id, "user": token.username}))
"""


@pytest.mark.parametrize("permission", ["service", "signedIn"])
def test_printed_parameter_objects_get_tokens_as_they_are(printed, permission):
    """In a program of its own: no browser there, so the signed-in app gets the device code the emulator approves."""
    params = printed["params"][permission]
    result = subprocess.run([sys.executable, "-c", _USE_AS_IS, json.dumps(params)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "BROWSER": "false"})
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)
    assert token["valid"] and token["tenant"] == printed["tenant"]["id"]
    if permission == "signedIn":
        assert token["user"] == params["loginHint"]


def test_the_cli_takes_the_printed_parameter_file(printed, tmp_path):
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(printed["params"]["service"]), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "accounts", "--params", str(params_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
