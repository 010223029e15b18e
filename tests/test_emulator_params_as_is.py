"""`netkit-msal emulator` prints parameter objects that another program can use as they are."""

import json
import subprocess
import sys

import pytest

from netkit_msal import OAuth2Provider


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


@pytest.mark.parametrize("permission", ["service", "signedIn"])
def test_printed_parameter_objects_get_tokens_as_they_are(printed, permission, tmp_path):
    params = printed["params"][permission]
    # The signed-in app has no browser here, so the provider picks the device code, which the emulator approves.
    token = OAuth2Provider(params, on_device_code=lambda flow: None).get_token()
    assert token.valid and token.tenant_id == printed["tenant"]["id"]
    if permission == "signedIn":
        assert token.username == params["loginHint"]


def test_the_cli_takes_the_printed_parameter_file(printed, tmp_path):
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(printed["params"]["service"]), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "accounts", "--params", str(params_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
