"""What every comparison shares (``Settings``, ``Context``, parameter and cache files) and the shared-expiry race.

The comparisons themselves are functions ``(Context) -> list[Row]`` listed in ``bench/__main__.py``; each one's
docstring is its description in RESULTS.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _peers
from ._emulator import EmulatorProcess
from ._measure import Row


@dataclass
class Settings:
    """How much work each comparison does (``--quick`` shrinks it to a smoke run)."""

    runs: int = 7  # timed runs per contestant (after the warm-up)
    warmup: int = 2
    process_runs: int = 25  # new-process rows are cheap and noisy: more samples
    calls: int = 2000  # warm get_token() calls per timed run
    messages: int = 2000
    page_size: int = 100
    by_id: int = 500
    processes: int = 8
    rounds: int = 3  # expiry races per side
    file_mb: int = 100  # the file moved up and back (comparison "files")
    file_runs: int = 5
    graph_runs: int = 3  # the by-id and listing rows: msgraph-sdk's model parsing takes ~10 ms a message here
    stream_messages: int = 100_000  # the folder walked for the memory row (comparison "list-memory")
    contention_samples: int = 2000  # get_token() calls timed while another process refreshes slowly
    refresh_latency: float = 0.5  # seconds the emulator holds each token answer in the contention row
    claims_rounds: int = 3

    @classmethod
    def quick(cls) -> Settings:
        return cls(runs=2, warmup=1, process_runs=3, calls=200, messages=200, by_id=60, rounds=1, file_mb=12,
                   file_runs=1, graph_runs=1, stream_messages=2000, contention_samples=200, refresh_latency=0.2,
                   claims_rounds=1)


@dataclass
class Context:
    emu: EmulatorProcess
    settings: Settings
    work: Path  # a private temp folder: params files, cache files
    env: dict[str, str]  # environment for child processes (NETKIT_MSAL_CACHE_DIR in ``work``)


def _params_file(ctx: Context, name: str, params: dict[str, Any]) -> str:
    path = ctx.work / f"{name}.json"
    path.write_text(json.dumps(params), encoding="utf-8")
    return str(path)


def _file_cache(ctx: Context, name: str) -> dict[str, Any]:
    """The persistent cache parameter: a file of ours (plaintext owner-only: Linux has no keyring here)."""
    return {"path": str(ctx.work / f"{name}.bin"), "allowUnencrypted": True}


def _http_requests(stats: dict[str, int]) -> int:
    """Requests that reached the emulator: its admin route and sub-counters ("token:refresh_token") left out."""
    return sum(count for name, count in stats.items() if name != "admin" and ":" not in name)


# --- processes whose shared cached token expires at once ----------------------------------------------------------

def _race(ctx: Context, side: str, round_: int) -> tuple[int, list[str]]:
    """One race: sign in with a token already expired for MSAL, then ``processes`` children ask at once.

    Returns (token requests that reached the emulator, the failed children's errors).
    """
    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    emu = ctx.emu
    install(emu.ca_file)
    emu.set_token_lifetime(60)  # under MSAL's 5-minute margin: the cached token counts as expired at once
    try:
        if side == "ours":
            params = emu.params("signedIn", flow="browser", cache=_file_cache(ctx, f"race-{round_}"))
            OAuth2Provider(params).get_token()
            spec = {"side": "ours", "params": params}
        else:
            from msal_extensions import FilePersistence, PersistedTokenCache

            path = str(ctx.work / f"race-{round_}-msal-extensions.bin")
            app = _peers.msal_public_app(emu, PersistedTokenCache(FilePersistence(path)))
            scopes = list(emu.params("signedIn")["scope"])
            result = app.acquire_token_interactive(scopes, login_hint=emu.upn)
            if "access_token" not in result:
                raise RuntimeError(f"msal sign-in failed: {result.get('error_description')}")
            spec = {"side": "msal-extensions", "cache": path, "scopes": scopes,
                    "client_id": emu.public_app()["clientId"], "authority": emu.authority, "ca_file": emu.ca_file,
                    "username": emu.upn}
    finally:
        emu.set_token_lifetime(3600)
    spec_file = _params_file(ctx, f"race-{side}-{round_}", spec)
    go = ctx.work / f"go-{side}-{round_}"
    children = [subprocess.Popen([sys.executable, "-m", "bench._race_child", spec_file, str(go)], env=ctx.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(ctx.settings.processes)]
    try:
        for child in children:  # each says "ready" once built and waiting at the signal
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"race child failed to start: {child.communicate(timeout=30)[1][-500:]}")
        emu.reset_stats()
        go.write_text("go")
        errors = []
        for child in children:
            out, err = child.communicate(timeout=120)
            outcome = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"ok": False, "error": err[-300:]}
            if child.returncode != 0 or not outcome.get("ok"):
                errors.append(str(outcome.get("error") or err[-300:]))
        return emu.stats().get("token", 0), errors
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def shared_expiry(ctx: Context) -> list[Row]:
    """Processes whose shared cached token expires at once: how many token requests reach the emulator.

    A user signs in with a token that MSAL already counts as expired (lifetime 60 s, under its 5-minute margin);
    then 8 new processes sharing that cache ask for a token at the same moment. Counted: token requests reaching
    the emulator (worst of 3 rounds) and failed processes. Ours: `OAuth2Provider(params).get_token()` over the
    cache file; the peer: msal's `PublicClientApplication` over msal-extensions' `PersistedTokenCache(
    FilePersistence(path))`, as msal-extensions' README shows (its encrypted persistence needs libsecret, absent
    here), with `get_accounts` and `acquire_token_silent`.
    """
    s = ctx.settings
    ours: list[float] = []
    theirs: list[float] = []
    errors: dict[str, list[str]] = {"ours": [], "msal-extensions": []}
    for round_ in range(s.rounds):  # alternating sides, as the timed rows do
        for side in (("ours", "msal-extensions") if round_ % 2 == 0 else ("msal-extensions", "ours")):
            requests_made, failed = _race(ctx, side, round_)
            (ours if side == "ours" else theirs).append(requests_made)
            errors[side].extend(failed)
    notes = [f"worst of {s.rounds} rounds per side; failed processes: ours {len(errors['ours'])}, "
             f"msal-extensions {len(errors['msal-extensions'])} of {s.processes * s.rounds}"]
    notes += [f"{side} error: {error}" for side, found in errors.items() for error in sorted(set(found))]
    return [Row.counted(f"{s.processes} processes, shared cached token expires at once: token requests",
                        "msal + msal-extensions `PersistedTokenCache`", "≤ 2 requests, no error", 2, ours, theirs,
                        must=not errors["ours"], notes=notes)]


def environment(work: Path) -> dict[str, str]:
    """Child processes' environment: this one, with the default token cache folder inside ``work``."""
    env = dict(os.environ)
    env["NETKIT_MSAL_CACHE_DIR"] = str(work / "default-cache")
    return env


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
