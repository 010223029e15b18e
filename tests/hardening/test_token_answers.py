"""A malformed token answer is an AuthenticationError and leaves nothing in the cache (issue 18).

MSAL caches a token answer as soon as it has parsed it; an ``expires_in`` of ``1e20`` or ``Infinity`` used to
raise a raw OverflowError after that, and every later process failed the same way without a request. Here the
emulator answers the token request with a malformed body; then a new process must make a fresh request and
get a token.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netkit_msal import AuthenticationError, OAuth2Provider

LATER_PROCESS = """
import json, sys
from netkit_msal import OAuth2Provider
token = OAuth2Provider(json.loads(sys.argv[1])).get_token(interactive=False)
print("valid" if token.valid else "invalid")
"""

GOOD = {"token_type": "Bearer", "access_token": "malformed-answer-token", "refresh_token": "malformed-answer-rt"}
BAD_ANSWERS = [
    pytest.param(dict(GOOD, expires_in=1e20), id="1e20"),
    pytest.param(dict(GOOD, expires_in=float("inf")), id="Infinity"),
    pytest.param(dict(GOOD, expires_in=-5), id="negative"),
    pytest.param(dict(GOOD, expires_in="soon"), id="text"),
    pytest.param(dict(GOOD, expires_in=None), id="null"),
    pytest.param(dict(GOOD, expires_in=3600, ext_expires_in="NaN"), id="ext-NaN"),
    pytest.param(dict(GOOD, expires_in=3600, refresh_in=1e300), id="refresh_in-huge"),
    pytest.param(dict(GOOD, expires_in=3600, access_token=["a"]), id="token-not-text"),
    pytest.param('{"token_type": "Bearer", "access_token": "x", "expires_in": -Infinity}', id="raw--Infinity"),
]


def later_process(params: dict) -> str:
    done = subprocess.run([sys.executable, "-c", LATER_PROCESS, json.dumps(params)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("permission", ["service", "signedIn"])
@pytest.mark.parametrize("body", BAD_ANSWERS)
def test_malformed_token_answer_is_refused_and_not_cached(emu, tmp_path, permission, body):
    params = emu.params(permission, cache={"path": str(tmp_path / "cache.bin"), "allowUnencrypted": True})
    if permission == "signedIn":  # a signed-in account whose access token MSAL already counts as expired
        emu.set_token_lifetime(120)
        OAuth2Provider(params).get_token()
        emu.set_token_lifetime(3600)
    emu.inject_fault("token", body=body)
    with pytest.raises(AuthenticationError, match="malformed"):
        OAuth2Provider(params).get_token(interactive=False)
    cache_file = tmp_path / "cache.bin"
    assert not cache_file.exists() or "malformed-answer" not in cache_file.read_text()
    before = emu.stats()["token"]
    assert later_process(params) == "valid"
    assert emu.stats()["token"] == before + 1, "the later process did not make a fresh request"


def test_a_well_formed_answer_from_body_is_used(emu, tmp_path):
    """The knob itself: a body that is a good answer is taken as the token."""
    params = emu.params("service", cache=False)
    emu.inject_fault("token", body=dict(GOOD, expires_in="3599"))  # AADv1 sends numbers as text
    assert OAuth2Provider(params).get_token().access_token == "malformed-answer-token"
