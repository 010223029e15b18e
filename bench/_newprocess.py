"""A new process turns a persisted cache into a valid token (issue 20): the passwordeval / cron case.

Every side signed the same user in once, earlier, into its own persisted cache, the way its documentation shows;
each timed run is then a whole new Python process that prints a valid access token for the signed-in user and
exits (wall clock, start to exit):

- ours, API: ``OAuth2Provider(params).get_token()`` in ``python -c`` (params from a JSON file: a plaintext
  owner-only cache file, ``allowUnencrypted``, ``loginHint``). When the file answers plainly, the token is read
  from it without importing MSAL (``netkit_msal.cache._fast``); otherwise MSAL's path runs.
- ours, CLI: ``netkit-msal token --params FILE``.
- msal: ``SerializableTokenCache`` deserialized from its file, ``PublicClientApplication`` (instance discovery
  off, a requests session trusting the emulator's CA) with the persisted ``http_cache`` recipe of msal's own
  docstring (pickle file, dumped at exit), ``get_accounts(username=...)`` and ``acquire_token_silent``.
- azure-identity: ``InteractiveBrowserCredential`` restored from the ``AuthenticationRecord`` its
  ``authenticate()`` returned, with ``TokenCachePersistenceOptions(allow_unencrypted_storage=True)`` (no keyring
  here), ``get_token(*scopes)``.
- the floor: ``python -c pass``, the interpreter's own start.

Requests are counted by the emulator, one process per side alone, and over the whole timed loop.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._emulator import EmulatorProcess
from ._measure import Row, alternate, median, process
from ._rows import Context, _file_cache, _http_requests, _params_file

OURS_API = """\
import json, sys
from netkit_msal import OAuth2Provider
with open(sys.argv[1], encoding="utf-8") as f:
    params = json.load(f)
print(OAuth2Provider(params).get_token().access_token)
"""

# msal's documented CLI recipe: token cache serialized to a file, http_cache pickled (tolerating load errors).
MSAL = """\
import atexit, json, pickle, sys
import msal, requests
with open(sys.argv[1], encoding="utf-8") as f:
    spec = json.load(f)
try:
    with open(spec["http_cache"], "rb") as f:
        http_cache = pickle.load(f)
except (FileNotFoundError, pickle.UnpicklingError, AttributeError):
    http_cache = {}
atexit.register(lambda: pickle.dump(http_cache, open(spec["http_cache"], "wb")))
cache = msal.SerializableTokenCache()
with open(spec["cache"], encoding="utf-8") as f:
    cache.deserialize(f.read())
http = requests.Session()
http.trust_env, http.verify = False, spec["ca_file"]
app = msal.PublicClientApplication(spec["client_id"], authority=spec["authority"], token_cache=cache,
                                   http_client=http, http_cache=http_cache, instance_discovery=False)
account = app.get_accounts(username=spec["username"])[0]
print(app.acquire_token_silent(spec["scopes"], account=account)["access_token"])
if cache.has_state_changed:
    with open(spec["cache"], "w", encoding="utf-8") as f:
        f.write(cache.serialize())
"""

AZURE = """\
import json, sys
from azure.identity import AuthenticationRecord, InteractiveBrowserCredential, TokenCachePersistenceOptions
with open(sys.argv[1], encoding="utf-8") as f:
    spec = json.load(f)
with open(spec["record"], encoding="utf-8") as f:
    record = AuthenticationRecord.deserialize(f.read())
credential = InteractiveBrowserCredential(  # client, tenant and authority come from the record
    authentication_record=record, disable_instance_discovery=True, connection_verify=spec["ca_file"],
    cache_persistence_options=TokenCachePersistenceOptions(name=spec["cache_name"], allow_unencrypted_storage=True))
print(credential.get_token(*spec["scopes"]).token)
"""


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _valid_token_of(upn: str, side: str) -> Callable[[str], None]:
    """A check on a child's output: one access token of ``upn`` with more than 5 minutes left."""
    def check(out: str) -> None:
        lines = out.strip().splitlines()
        token = lines[-1] if lines else ""
        if token.count(".") != 2:
            raise RuntimeError(f"{side}: printed no access token")
        claims = _claims(token)
        if claims.get("upn") != upn or claims.get("exp", 0) < time.time() + 300:
            raise RuntimeError(f"{side}: the token is not a valid one of {upn}")
    return check


def _sign_in_msal(ctx: Context, scopes: list[str]) -> dict[str, Any]:
    """msal signs the user in once (headless browser) and leaves its cache file and pickled http_cache."""
    import msal

    from . import _peers

    emu = ctx.emu
    cache, http_cache = msal.SerializableTokenCache(), {}  # type: ignore[var-annotated]
    app = msal.PublicClientApplication(emu.public_app()["clientId"], authority=emu.authority, token_cache=cache,
                                       http_client=_peers.session(emu.ca_file), http_cache=http_cache,
                                       instance_discovery=False)
    result = app.acquire_token_interactive(scopes, login_hint=emu.upn)
    if "access_token" not in result:
        raise RuntimeError(f"msal sign-in at the emulator failed: {result.get('error_description')}")
    cache_file, http_file = ctx.work / "newprocess-msal-cache.bin", ctx.work / "newprocess-msal.http"
    cache_file.write_text(cache.serialize(), encoding="utf-8")
    with open(http_file, "wb") as handle:
        pickle.dump(http_cache, handle)
    return {"cache": str(cache_file), "http_cache": str(http_file), "ca_file": emu.ca_file,
            "client_id": emu.public_app()["clientId"], "authority": emu.authority, "username": emu.upn,
            "scopes": scopes}


def _sign_in_azure(ctx: Context, scopes: list[str]) -> dict[str, Any]:
    """azure-identity signs the user in once (``authenticate``) and leaves its record and persistent cache."""
    from azure.identity import InteractiveBrowserCredential, TokenCachePersistenceOptions

    emu = ctx.emu
    name = f"netkit-bench-{os.getpid()}-{ctx.work.name}"  # under ~/.IdentityService: removed afterwards
    credential = InteractiveBrowserCredential(
        client_id=emu.public_app()["clientId"], tenant_id=emu.tenant_id, authority=emu.url, login_hint=emu.upn,
        disable_instance_discovery=True, connection_verify=emu.ca_file, timeout=60,
        cache_persistence_options=TokenCachePersistenceOptions(name=name, allow_unencrypted_storage=True))
    record = credential.authenticate(scopes=scopes)
    record_file = ctx.work / "newprocess-azure-record.json"
    record_file.write_text(record.serialize(), encoding="utf-8")
    return {"record": str(record_file), "cache_name": name, "ca_file": emu.ca_file, "scopes": scopes}


def _azure_cache_files(name: str) -> list[Path]:
    folder = Path.home() / ".IdentityService"
    return [path for path in folder.glob(f"{name}*")] if folder.is_dir() else []


def _requests_of(emu: EmulatorProcess, run: Callable[[], float]) -> str:
    """HTTP requests one process of a side makes, by endpoint (counted by the emulator, nothing else running)."""
    emu.reset_stats()
    run()
    stats = emu.stats()
    seen = {name: count for name, count in stats.items() if name != "admin" and ":" not in name and count}
    return f"{_http_requests(stats)}" + (f" ({', '.join(f'{n} {c}' for n, c in sorted(seen.items()))})" if seen else "")


def new_process(ctx: Context) -> list[Row]:
    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)  # the headless browser signs in for every side (as a person would, once)
    python = sys.executable
    params = emu.params("signedIn", flow="browser", cache=_file_cache(ctx, "newprocess"))
    OAuth2Provider(params).get_token()
    scopes = list(params["scope"])
    ours_file = _params_file(ctx, "newprocess", params)
    msal_file = _params_file(ctx, "newprocess-msal", _sign_in_msal(ctx, scopes))
    azure_spec = _sign_in_azure(ctx, scopes)
    azure_file = _params_file(ctx, "newprocess-azure", azure_spec)
    script = Path(python).with_name("netkit-msal")
    cli = [str(script)] if script.exists() else [python, "-c", "from netkit_msal.cli import main; main()"]
    sides = {
        "api": process([python, "-c", OURS_API, ours_file], env=ctx.env, check=_valid_token_of(emu.upn, "ours")),
        "cli": process([*cli, "token", "--params", ours_file], env=ctx.env,
                       check=_valid_token_of(emu.upn, "netkit-msal token")),
        "msal": process([python, "-c", MSAL, msal_file], env=ctx.env, check=_valid_token_of(emu.upn, "msal")),
        "azure": process([python, "-c", AZURE, azure_file], env=ctx.env,
                         check=_valid_token_of(emu.upn, "azure-identity")),
        "pass": process([python, "-c", "pass"], env=ctx.env),
    }
    try:
        alone = {name: _requests_of(emu, run) for name, run in sides.items() if name != "pass"}
        emu.reset_stats()
        samples = alternate(sides, runs=s.process_runs, warmup=s.warmup)
        total = _http_requests(emu.stats())
    finally:
        for path in _azure_cache_files(azure_spec["cache_name"]):
            path.unlink(missing_ok=True)
    return _rows(samples, alone, total, s.process_runs + s.warmup)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _rows(samples: dict[str, list[float]], alone: dict[str, str], total: int, rounds: int) -> list[Row]:
    floor = median(samples["pass"])
    peers = {"msal": "msal `SerializableTokenCache` file + `acquire_token_silent`",
             "azure": "azure-identity `AuthenticationRecord` + persistent cache"}
    fastest = min(peers, key=lambda name: median(samples[name]))
    ours_zero = alone["api"] == alone["cli"] == "0"
    distance = "; ".join(f"{name} pass + {_ms(median(samples[name]) - floor)}" for name in ("api", "cli", *peers))
    notes = [
        f"floor: `python -c pass` {_ms(floor)}; {distance}",
        f"HTTP requests by one process alone: ours (API) {alone['api']}, ours (CLI) {alone['cli']}, "
        f"msal {alone['msal']}, azure-identity {alone['azure']}; over all {rounds} timed and warm-up rounds: {total}",
        "ours: reads the params file, checks the cache file as the store does (private folder, regular file of "
        "ours, mode 0600), reads the user's access token from it (MSAL's format, query and 5-minute margin) "
        "without importing MSAL, requests or cryptography; MSAL's path only when the file cannot answer plainly",
        "msal: deserializes its cache file, builds PublicClientApplication (discovery document from its pickled "
        "http_cache, as msal's docstring recipe for CLIs shows), get_accounts + acquire_token_silent, dumps the "
        "http_cache at exit",
        "azure-identity: InteractiveBrowserCredential from the AuthenticationRecord of its sign-in, persistent "
        "cache in ~/.IdentityService (plaintext: no keyring here); get_token; it keeps no discovery cache, so "
        "each process fetches the discovery document",
    ]
    rows: list[Row] = []
    for ours, label in (("api", "`OAuth2Provider(params).get_token()`"), ("cli", "`netkit-msal token`")):
        for peer in sorted(peers, key=lambda name: name != fastest):
            rows.append(Row.timed(f"new process, token from the persisted cache ({label})", peers[peer],
                                  "≤ 0.7× the fastest peer, 0 HTTP requests", 0.7, samples[ours], samples[peer],
                                  must=ours_zero, notes=notes if not rows else []))
    return rows
