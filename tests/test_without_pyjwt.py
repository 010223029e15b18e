"""PyJWT is the emulator's dependency (extra ``emulator``), not the product's: the product imports without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A meta path finder that refuses ``jwt``, as if PyJWT were not installed.
BLOCK_JWT = textwrap.dedent('''
    import sys

    class _NoJwt:
        def find_spec(self, name, path=None, target=None):
            if name == "jwt" or name.startswith("jwt."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, _NoJwt())
''')


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_JWT + textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_the_block_works():
    # The guard itself must be able to fail: the emulator needs PyJWT, so it cannot import.
    result = _run("import netkit_msal.emulator")
    assert result.returncode != 0
    assert "No module named 'jwt'" in result.stderr


def test_the_product_imports_without_pyjwt():
    result = _run('''
        import netkit_msal, netkit_msal.office365, netkit_msal.mail
        from netkit_msal import OAuth2Provider, Office365, Token
        provider = OAuth2Provider({"name": "Microsoft", "permission": "signedIn", "clientId": "x",
                                   "cache": False})
        print("ok", "jwt" in sys.modules)
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "False"]
