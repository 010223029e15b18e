"""The pytest plugin, used as a user would: a test file of theirs asks for ``m365_emulator``."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

PLUGIN = "netkit_msal.pytest_plugin"
README = Path(__file__).resolve().parents[1] / "README.md"

USER_TEST = textwrap.dedent('''
    import requests

    from netkit_msal import OAuth2Provider


    def test_me(m365_emulator):
        params = m365_emulator.describe()["params"]["signedIn"]     # what `netkit-msal emulator` prints
        provider = OAuth2Provider({**params, "cache": False})
        token = provider.get_token()
        me = requests.get(f"{m365_emulator.graph_url}/me", verify=m365_emulator.ca_file, timeout=30,
                          headers={"Authorization": f"Bearer {token.access_token}"})
        assert me.status_code == 200
        assert me.json()["userPrincipalName"] == params["loginHint"]


    def test_the_same_emulator_for_the_session(m365_emulator):
        assert m365_emulator.stats()["token"] >= 1
''')


def _registered() -> bool:
    eps = entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
    return any(ep.value == PLUGIN for ep in group)


def test_netkit_msal_registers_the_plugin_with_pytest():
    # False until the package is (re)installed from a checkout that declares the entry point.
    assert _registered()


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Testing your own code"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_user_tests_get_a_running_emulator(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST, encoding="utf-8")
    (tmp_path / "test_readme_example.py").write_text(_readme_example(), encoding="utf-8")
    # The installed entry point loads the plugin; "-p" only where this checkout is not the installed one.
    load = [] if _registered() else ["-p", PLUGIN]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_without_the_plugin_the_fixture_is_unknown(tmp_path):
    # The counter-check: the user test above passes because of the plugin, not by accident.
    (tmp_path / "test_user.py").write_text(USER_TEST, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", f"no:{PLUGIN}",
                             "-p", "no:netkit_msal"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "fixture 'm365_emulator' not found" in result.stdout


def test_loading_the_plugin_does_not_import_the_emulator():
    code = (f"import sys, {PLUGIN}; "
            "heavy = [m for m in sys.modules if m.startswith(('netkit_msal.emulator', 'jwt', 'msal'))]; "
            "print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
