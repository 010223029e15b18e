"""Tokens in a warm process: one already held, one that misses our memory, and a cache hit under contention."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _peers
from ._measure import Row, alternate, per_call, percentile, profile

if TYPE_CHECKING:
    from ._rows import Context


def _signed_in_scopes(ctx: Context) -> list[str]:
    return list(ctx.emu.params("signedIn")["scope"])


def _msal_signed_in(ctx: Context, token_cache: Any = None) -> tuple[Any, Any]:
    """msal's public client signed in by the headless browser: (app, account)."""
    emu = ctx.emu
    app = _peers.msal_public_app(emu, token_cache)
    scopes = _signed_in_scopes(ctx)
    result = app.acquire_token_interactive(scopes, login_hint=emu.upn)
    if "access_token" not in result:
        raise RuntimeError(f"msal sign-in at the emulator failed: {result.get('error_description')}")
    account = app.get_accounts(username=emu.upn)[0]
    if "access_token" not in (app.acquire_token_silent(scopes, account) or {}):
        raise RuntimeError("msal acquire_token_silent missed its own cache")
    return app, account


def held_tokens(ctx: Context) -> list[Row]:
    """A token the client already holds, asked for again in the same process (2,000 back-to-back calls, per call).

    Every side has signed in (or got its app token) before the timed calls and answers from what it holds; the
    emulator counts the requests during the timed calls (none expected). Signed-in user: ours `get_token()` on
    the provider that signed in; msal's `acquire_token_silent(scopes, account)` with the account from
    `get_accounts()` (msal's documented pattern: silent first); azure-identity's `InteractiveBrowserCredential`
    `get_token(*scopes)`. App-only: ours `get_token()`; msal's `ConfidentialClientApplication.
    acquire_token_for_client(scopes)` (which answers from its cache first since msal 1.23, as its docs say);
    azure-identity's `ClientSecretCredential.get_token(".default")`. Ours returns the token it holds in memory
    (valid by MSAL's 5-minute margin); the peers search their token caches on every call.
    """
    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    from ._rows import _file_cache, _http_requests

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)  # the headless browser signs in for every side (as a person would, once)
    user = OAuth2Provider(emu.params("signedIn", flow="browser", cache=_file_cache(ctx, "held")))
    user.get_token()
    app, account = _msal_signed_in(ctx)
    scopes = _signed_in_scopes(ctx)
    browser = _peers.azure_browser_credential(ctx.emu)
    browser.get_token(*scopes)

    service = OAuth2Provider(emu.params("service", cache=_file_cache(ctx, "held-service")))
    service.get_token()
    credential = _peers.azure_secret_credential(emu)
    credential.get_token(_peers.GRAPH_DEFAULT)
    confidential = _peers.msal_confidential_app(emu)
    if "access_token" not in confidential.acquire_token_for_client([_peers.GRAPH_DEFAULT]):
        raise RuntimeError("msal acquire_token_for_client failed at the emulator")

    emu.reset_stats()
    runs = {"runs": s.runs, "warmup": s.warmup}
    users = alternate({"ours": per_call(user.get_token, s.calls),
                       "msal": per_call(lambda: app.acquire_token_silent(scopes, account), s.calls),
                       "azure": per_call(lambda: browser.get_token(*scopes), s.calls)}, **runs)
    apps = alternate({"ours": per_call(service.get_token, s.calls),
                      "msal": per_call(lambda: confidential.acquire_token_for_client([_peers.GRAPH_DEFAULT]),
                                       s.calls),
                      "azure": per_call(lambda: credential.get_token(_peers.GRAPH_DEFAULT), s.calls)}, **runs)
    requests_made = _http_requests(emu.stats())
    for closing in (credential, browser):
        closing.close()
    user.close()
    service.close()
    note = [f"{requests_made} HTTP requests during the timed calls (every side answered from what it holds)"]
    user_what, app_what = "token already held, warm process (signed-in user)", "token already held, warm process " \
        "(app-only)"
    return [
        Row.timed(user_what, "msal `acquire_token_silent`", "≤ 1.0×", 1.0, users["ours"], users["msal"], notes=note),
        Row.timed(user_what, "azure-identity `InteractiveBrowserCredential.get_token`", "≤ 1.0×", 1.0,
                  users["ours"], users["azure"]),
        Row.timed(app_what, "msal `acquire_token_for_client`", "≤ 1.0×", 1.0, apps["ours"], apps["msal"]),
        Row.timed(app_what, "azure-identity `ClientSecretCredential.get_token`", "≤ 1.0×", 1.0, apps["ours"],
                  apps["azure"]),
    ]


def memo_miss(ctx: Context) -> list[Row]:
    """A token that is in the persisted cache but not in the asking object's memory (a fresh client, warm process).

    The user signed in once, earlier, into each side's cache file. Each call builds a new client over that file
    and asks for the token: ours `OAuth2Provider(params).get_token(interactive=False)` (the `cache` parameter names
    the file); msal, as its token-cache documentation shows: a `SerializableTokenCache` deserialized from its file,
    a new `PublicClientApplication(token_cache=...)`, `get_accounts(username=...)` and `acquire_token_silent`.
    Both sides search the same MSAL cache format for the same account and scopes; msal's new application also
    fetches the tenant's OpenID configuration (counted below), which ours keeps in its cache.
    """
    import msal

    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    from ._rows import _file_cache

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)
    params = emu.params("signedIn", flow="browser", cache=_file_cache(ctx, "miss"))
    with OAuth2Provider(params) as first:
        first.get_token()
    scopes = _signed_in_scopes(ctx)
    cache_file = ctx.work / "miss-msal.json"
    signed = msal.SerializableTokenCache()
    _msal_signed_in(ctx, signed)
    cache_file.write_text(signed.serialize(), encoding="utf-8")

    def ours() -> None:
        with OAuth2Provider(params) as fresh:
            fresh.get_token(interactive=False)

    def peer() -> None:
        cache = msal.SerializableTokenCache()
        cache.deserialize(cache_file.read_text(encoding="utf-8"))
        app = _peers.msal_public_app(emu, cache)
        account = app.get_accounts(username=emu.upn)[0]
        if "access_token" not in (app.acquire_token_silent(scopes, account) or {}):
            raise RuntimeError("msal missed its persisted cache")

    calls = max(10, s.calls // 20)
    emu.reset_stats()
    samples = alternate({"ours": per_call(ours, calls), "msal": per_call(peer, calls)}, runs=s.runs, warmup=s.warmup)
    stats = emu.stats()
    rounds = (s.runs + s.warmup) * calls
    return [Row.timed("token in the persisted cache, not in memory: a new client, warm process",
                      "msal `SerializableTokenCache` + new app + `acquire_token_silent`", "≤ 1.0×", 1.0,
                      samples["ours"], samples["msal"],
                      notes=[f"{calls} new clients per timed run; the emulator saw {stats.get('token', 0)} token and "
                             f"{stats.get('discovery', 0)} discovery requests in {rounds} calls per side (msal's "
                             "new application asks for the OpenID configuration)"])]


def contention(ctx: Context) -> list[Row]:
    """A cache hit while another process refreshes slowly: p99 of `get_token()` (absolute target ≤ 5 ms).

    The user signed in into a cache file. The emulator holds every token answer for a while (its fault knob,
    latency only). A second process (`bench/_contention_child.py`) over the same file refreshes again and again
    (`get_token(force_refresh=True)`), so it holds the file's cross-process refresh lock most of the time. Meanwhile
    this process times each of many calls: `get_token()` on a provider that holds its token, and a new
    `OAuth2Provider(params).get_token(interactive=False)` over the file (a cache hit that is not in memory). A hit
    must not wait behind the refresh. No peer: msal has no cross-process lock of its own (msal-extensions' lock is
    taken on every read).
    """
    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    from ._rows import _file_cache, _params_file

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)
    params = emu.params("signedIn", flow="browser", cache=_file_cache(ctx, "contention"))
    holder = OAuth2Provider(params)
    holder.get_token()
    held: list[float] = []
    fresh: list[float] = []
    alone: list[float] = []  # the same new-provider calls with nobody refreshing: what contention adds

    def clock(action: Callable[[], Any], into: list[float]) -> None:
        started = time.perf_counter()
        action()
        into.append(time.perf_counter() - started)

    def new_provider() -> None:
        with OAuth2Provider(params) as fresh_one:
            fresh_one.get_token(interactive=False)
    for _ in range(s.contention_samples // 2):
        clock(new_provider, alone)
    stop = ctx.work / "contention-stop"
    spec = _params_file(ctx, "contention", params)
    emu.inject_fault("token", latency=s.refresh_latency, count=None)
    child = subprocess.Popen([sys.executable, "-m", "bench._contention_child", spec, str(stop)], env=ctx.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "refreshing":
            raise RuntimeError(f"contention child failed: {child.communicate(timeout=30)[1][-500:]}")
        time.sleep(s.refresh_latency / 4)  # its first refresh is under way (waiting on the emulator)
        emu.reset_stats()
        started = time.perf_counter()
        for _ in range(s.contention_samples):
            clock(holder.get_token, held)
            clock(new_provider, fresh)
        window = time.perf_counter() - started
        stats = emu.stats()
    finally:
        stop.write_text("stop")
        out, err = child.communicate(timeout=60)
        emu.clear_faults()
        holder.close()
    refreshed = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"refreshes": 0, "error": err[-300:]}
    if refreshed.get("error"):
        raise RuntimeError(f"contention child: {refreshed['error']}")
    note = (f"{len(fresh)} calls of each kind in {window:.1f} s while the other process completed "
            f"{refreshed['refreshes']} refreshes of {s.refresh_latency} s each (the emulator saw "
            f"{stats.get('token', 0)} token requests in that window, all the other process's)")
    rows = [
        Row.absolute("cache hit under contention: p99 of `get_token()`, token held", "≤ 5 ms", 0.005,
                     percentile(held, 0.99), held, notes=[note]),
        Row.absolute("cache hit under contention: p99 of a new provider's `get_token()` over the file", "≤ 5 ms",
                     0.005, percentile(fresh, 0.99), fresh,
                     notes=[f"under contention: median {percentile(fresh, 0.5) * 1e3:.2f} ms, max "
                            f"{max(fresh) * 1e3:.2f} ms; the same calls with nobody refreshing (before): median "
                            f"{percentile(alone, 0.5) * 1e3:.2f} ms, p99 {percentile(alone, 0.99) * 1e3:.2f} ms"]),
    ]
    if not rows[1].met:  # where a new provider's time goes
        rows[1].notes.append(profile(new_provider, calls=50))
    return rows
