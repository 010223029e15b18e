"""Bad input that used to hang or raise a raw exception (issue 18): ``/dev/zero``, a FIFO, a folder or a huge file
as any file parameter; a NUL in a path; lone surrogates in text; a ``token`` nested 100,000 deep; a scope naming
two resources. Each is a ConfigError naming the key, raised at once.

Every call runs in a thread with a generous bound, so a regression fails here instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netkit_msal import ConfigError, OAuth2Provider
from netkit_msal._certificates import MAX_FILE_BYTES
from netkit_msal._loopback import RedirectReceiver
from netkit_msal._net import ssl_context
from netkit_msal._sources import params_from_file

CLIENT = "7008ebf5-4c2e-4b8a-9d1f-0a1b2c3d4e5f"
TENANT = "contoso.example"
FILE_KEYS = ["certificateFile", "caFile", "authenticationPage", "authenticationErrorPage"]
BOUND = 60  # seconds: only reached when something hangs


def config_error(call: Callable[[], Any]) -> ConfigError:
    """The ConfigError ``call`` raises, within BOUND seconds (else the test fails rather than hangs)."""
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - judged below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    with address_space_capped():  # a regression reading /dev/zero meets MemoryError, not the machine's OOM killer
        thread.start()
        thread.join(BOUND)
    assert not thread.is_alive(), "hung"
    error = outcome.get("error")
    assert isinstance(error, ConfigError), repr(error)
    return error


@contextlib.contextmanager
def address_space_capped(extra: int = 1 << 30) -> Iterator[None]:
    """Cap this process's address space at what it uses now plus ``extra`` bytes, for the block's length."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * resource.getpagesize()
    cap = used + extra if hard == resource.RLIM_INFINITY else min(hard, used + extra)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def params_with(key: str, value: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"clientId": CLIENT, "tenant": TENANT, "cache": False, key: value}
    if key == "certificateFile":
        params["permission"] = "service"
    return params


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo.pem"
    os.mkfifo(path)
    return path


@pytest.fixture
def specials(tmp_path, fifo):
    """name -> a path that is no regular file of a sane size."""
    huge = tmp_path / "huge.pem"
    with open(huge, "wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_FILE_BYTES + 1)
    link = tmp_path / "zero-link.pem"
    link.symlink_to("/dev/zero")
    return {"/dev/zero": Path("/dev/zero"), "fifo": fifo, "folder": tmp_path, "symlink to /dev/zero": link,
            "huge": huge}


@pytest.mark.parametrize("key", FILE_KEYS)
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "folder", "symlink to /dev/zero", "huge"])
def test_a_file_parameter_that_is_no_regular_file_or_too_big(key, kind, specials):
    if key.startswith("authentication") and kind == "folder":
        pass  # a folder is refused as "not an existing file" already; still a ConfigError naming the key
    error = config_error(lambda: OAuth2Provider(params_with(key, str(specials[kind]))))
    assert error.key == key and key in str(error)


@pytest.mark.parametrize("key", FILE_KEYS)
def test_a_nul_in_a_file_parameter(key):
    error = config_error(lambda: OAuth2Provider(params_with(key, "/tmp/a\x00b.pem")))
    assert error.key == key


@pytest.mark.parametrize("page", ["success_page", "error_page"])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "huge", "nul"])
def test_the_receiver_reads_its_page_files_bounded(page, kind, specials):
    path = "/tmp/a\x00b.html" if kind == "nul" else str(specials[kind])
    error = config_error(lambda: RedirectReceiver("http://127.0.0.1:0/", state="s", timeout=1, **{page: path}))
    assert error.key in ("authenticationPage", "authenticationErrorPage")


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "folder", "nul"])
def test_a_ca_file_given_straight_to_ssl_context(kind, specials):
    path = "/tmp/a\x00b.pem" if kind == "nul" else str(specials[kind])
    assert config_error(lambda: ssl_context(path, key="caFile")).key == "caFile"


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "folder", "huge", "nul", "deep", "not utf-8"])
def test_a_parameter_file(kind, specials, tmp_path):
    if kind == "nul":
        path: Any = "/tmp/a\x00b.json"
    elif kind == "deep":
        path = tmp_path / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif kind == "not utf-8":
        path = tmp_path / "latin1.json"
        path.write_bytes(b'{"clientId": "caf\xe9"}')
    else:
        path = specials[kind]
    assert config_error(lambda: params_from_file(path)).key == "params"


def test_a_file_name_that_is_not_utf8_still_works(emu, tmp_path):
    """Path keys are exempt from the surrogate check: ``os.fsdecode`` of a Latin-1 name holds surrogates."""
    name = os.fsdecode(str(tmp_path).encode() + b"/ca-\xe9.pem")
    shutil.copyfile(emu.ca_file, name)
    provider = OAuth2Provider({**emu.params("service", cache=False), "caFile": name})
    try:
        assert provider.get_token().valid
    finally:
        provider.close()


@pytest.mark.parametrize("depth", [100_000])
@pytest.mark.parametrize("shape", ["list", "object"])
def test_a_token_nested_too_deep(depth, shape):
    text = ("[" * depth + "]" * depth) if shape == "list" else ('{"a":' * depth + "1" + "}" * depth)
    error = config_error(lambda: OAuth2Provider({"clientId": CLIENT, "cache": False, "token": text}))
    assert error.key == "token" and "token" in str(error)


LONE = "\udcff"


@pytest.mark.parametrize("key,value", [
    ("privateKey", f"-----BEGIN PRIVATE KEY-----\n{LONE}\n-----END PRIVATE KEY-----\n"),
    ("certificatePassword", f"pass{LONE}"),
    ("clientSecret", f"secret{LONE}"),
    ("state", f"st{LONE}"),
    ("loginHint", f"adele{LONE}@contoso.example"),
    ("scope", ["User.Read", f"Mail{LONE}.Read"]),
    ("tenant", f"contoso{LONE}"),
])
def test_lone_surrogates_in_text(key, value):
    params: dict[str, Any] = {"clientId": CLIENT, "tenant": TENANT, "cache": False, key: value}
    if key == "certificatePassword":
        params["privateKey"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    error = config_error(lambda: OAuth2Provider(params))
    assert error.key == key and key in str(error)


@pytest.mark.parametrize("scope", [
    "User.Read https://outlook.office.com/IMAP.AccessAsUser.All",
    ["https://graph.microsoft.com/Mail.Read", "https://outlook.office.com/SMTP.Send"],
    "api://7008ebf5-4c2e-4b8a-9d1f-0a1b2c3d4e5f/access User.Read",
])
def test_a_scope_naming_two_resources(scope):
    error = config_error(lambda: OAuth2Provider({"clientId": CLIENT, "cache": False, "scope": scope}))
    assert error.key == "scope" and "two resources" in str(error)


@pytest.mark.parametrize("scope", [
    "User.Read Mail.Send offline_access openid email",
    "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
    "https://graph.microsoft.com//.default",
])
def test_one_resource_is_fine(scope):
    OAuth2Provider({"clientId": CLIENT, "cache": False, "scope": scope}).close()


def test_scopes_asked_per_call_name_one_resource_too(emu):
    provider = OAuth2Provider(emu.params("service", cache=False))
    try:
        error = config_error(lambda: provider.get_token(["https://graph.microsoft.com/.default",
                                                         "https://outlook.office365.com/.default"]))
        assert error.key == "scopes"
    finally:
        provider.close()
