"""The six comparisons of issue 8, each a function ``(Context) -> list[Row]``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import _files, _peers
from ._notify import notifications
from ._emulator import EmulatorProcess
from ._measure import Row, alternate, per_call, process, timed


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
    file_runs: int = 3

    @classmethod
    def quick(cls) -> "Settings":
        return cls(runs=2, warmup=1, process_runs=3, calls=200, messages=200, by_id=60, rounds=1, file_mb=12,
                   file_runs=1)


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


# --- 1. import ---------------------------------------------------------------------------------------------

def imports(ctx: Context) -> list[Row]:
    python = sys.executable
    s = ctx.settings
    samples = alternate({
        "netkit_msal": process([python, "-c", "import netkit_msal"], env=ctx.env),
        "netkit_msal+provider": process([python, "-c", "from netkit_msal import OAuth2Provider"], env=ctx.env),
        "msal": process([python, "-c", "import msal"], env=ctx.env),
    }, runs=s.process_runs, warmup=s.warmup)
    return [
        Row.timed("`import netkit_msal`, fresh process", "`import msal`", "≤ 1.1×", 1.1,
                  samples["netkit_msal"], samples["msal"],
                  notes=["public names load on first use (PEP 562), so this is the package's own start-up"]),
        Row.timed("`from netkit_msal import OAuth2Provider`, fresh process", "`import msal`", "≤ 1.1×", 1.1,
                  samples["netkit_msal+provider"], samples["msal"],
                  notes=["the usable import: what a script that gets a token loads before its first call"]),
    ]


# --- 2. cached get_token() in a warm process --------------------------------------------------------------------

def warm_tokens(ctx: Context) -> list[Row]:
    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)  # the headless browser signs in for both sides (as a person would, once)
    user = OAuth2Provider(emu.params("signedIn", flow="browser", cache=_file_cache(ctx, "warm")))
    user.get_token()
    app = _peers.msal_public_app(emu)
    scopes = list(emu.params("signedIn")["scope"])
    result = app.acquire_token_interactive(scopes, login_hint=emu.upn)
    if "access_token" not in result:
        raise RuntimeError(f"msal sign-in at the emulator failed: {result.get('error_description')}")
    account = app.get_accounts(username=emu.upn)[0]
    if "access_token" not in (app.acquire_token_silent(scopes, account) or {}):
        raise RuntimeError("msal acquire_token_silent missed its own cache")

    service = OAuth2Provider(emu.params("service", cache=_file_cache(ctx, "warm-service")))
    service.get_token()
    credential = _peers.azure_secret_credential(emu)
    credential.get_token(_peers.GRAPH_DEFAULT)

    emu.reset_stats()
    vs_msal = alternate({"ours": per_call(user.get_token, s.calls),
                         "msal": per_call(lambda: app.acquire_token_silent(scopes, account), s.calls)},
                        runs=s.runs, warmup=s.warmup)
    vs_azure = alternate({"ours": per_call(service.get_token, s.calls),
                          "azure": per_call(lambda: credential.get_token(_peers.GRAPH_DEFAULT), s.calls)},
                         runs=s.runs, warmup=s.warmup)
    requests_made = _http_requests(emu.stats())
    credential.close()
    note = f"{requests_made} HTTP requests during the timed calls (all sides served from cache)"
    return [
        Row.timed("cached `get_token()`, warm process (signed-in user)", "msal `acquire_token_silent`", "≤ 1.5×",
                  1.5, vs_msal["ours"], vs_msal["msal"], notes=[note]),
        Row.timed("cached `get_token()`, warm process (app-only)", "azure-identity `get_token`", "≤ 1.0×", 1.0,
                  vs_azure["ours"], vs_azure["azure"], notes=[note]),
    ]


# --- 3. new process, token from the persistent cache --------------------------------------------------------------

def cli_token(ctx: Context) -> list[Row]:
    from netkit_msal import OAuth2Provider
    from netkit_msal.emulator._browser import install

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)
    params = emu.params("signedIn", flow="browser", cache=_file_cache(ctx, "cli"))
    OAuth2Provider(params).get_token()  # signed in once; every timed process reads this cache
    params_file = _params_file(ctx, "cli", params)
    script = Path(sys.executable).with_name("netkit-msal")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from netkit_msal.cli import main; main()"]

    def is_token(out: str) -> None:
        if out.count(".") != 2 or len(out.strip()) < 100:
            raise RuntimeError("netkit-msal token printed no access token")

    emu.reset_stats()
    samples = alternate({
        "ours": process([*command, "token", "--params", params_file], env=ctx.env, check=is_token),
        "msal": process([sys.executable, "-c", "import msal"], env=ctx.env),
    }, runs=s.process_runs, warmup=s.warmup)
    requests_made = _http_requests(emu.stats())
    return [Row.timed("new process, token from the persistent cache (`netkit-msal token`)",
                      '`python -c "import msal"`', "≤ 1.5×, 0 HTTP requests", 1.5, samples["ours"], samples["msal"],
                      must=requests_made == 0,
                      notes=[f"{requests_made} HTTP requests to the emulator in {s.process_runs + s.warmup} "
                             "`netkit-msal token` processes (counted by the emulator)",
                             "ours parses the parameters, opens the cache file, builds MSAL's app from the cached "
                             "discovery and prints the token; the peer only imports msal"])]


# --- 4 and 5. Graph: listing a mailbox, many messages by id -------------------------------------------------

class _GraphSides:
    """Ours (Office365 over an app-only provider) and the peers, built and warmed once."""

    def __init__(self, ctx: Context) -> None:
        from netkit_msal import Office365, OAuth2Provider

        emu = ctx.emu
        self.upn = emu.upn
        self.page = ctx.settings.page_size
        self.provider = OAuth2Provider(emu.params("service", cache=False))
        self.office = Office365(self.provider, {"userId": emu.upn})
        self.account = _peers.o365_account(emu, emu.upn)
        self.folder = self.account.mailbox().archive_folder()
        self.loop = asyncio.new_event_loop()
        self.credential = _peers.azure_secret_credential(emu, aio=True)
        self.client = _peers.graph_sdk_client(emu, self.credential)

    def close(self) -> None:
        self.office.close()
        self.provider.close()
        self.loop.run_until_complete(self.credential.close())
        self.loop.close()

    # listing (id, subject) of every message in the seeded folder, page_size a page
    def ours_list(self) -> list[tuple[str, str]]:
        mails = self.office.mail.get_mails({"folderId": "archive", "select": "id,subject", "top": self.page})
        return [(mail["id"], mail["subject"]) for mail in mails]

    def o365_list(self) -> list[tuple[str, str]]:
        query = self.folder.new_query().select("id", "subject")
        return [(m.object_id, m.subject) for m in self.folder.get_messages(limit=None, batch=self.page, query=query)]

    def sdk_list(self) -> list[tuple[str, str]]:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
            MessagesRequestBuilder,
        )
        from msgraph_core.tasks.page_iterator import PageIterator

        async def walk() -> list[tuple[str, str]]:
            query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=self.page,
                                                                                   select=["id", "subject"])
            messages = self.client.users.by_user_id(self.upn).mail_folders.by_mail_folder_id("archive").messages
            first = await messages.get(request_configuration=RequestConfiguration(query_parameters=query))
            out: list[tuple[str, str]] = []

            def keep(message: Any) -> bool:
                out.append((message.id, message.subject))
                return True
            await PageIterator(first, self.client.request_adapter).iterate(keep)
            return out
        return self.loop.run_until_complete(walk())

    # many messages by id
    def ours_by_id(self, ids: list[str]) -> list[Any]:
        return self.office.mail.get_mails_by_id(ids)

    def sdk_sequential(self, ids: list[str]) -> list[Any]:
        async def each() -> list[Any]:
            messages = self.client.users.by_user_id(self.upn).messages
            return [await messages.by_message_id(mail_id).get() for mail_id in ids]
        return self.loop.run_until_complete(each())


def _expect(count: int, what: str) -> Callable[[list[Any]], None]:
    def check(result: list[Any]) -> None:
        if len(result) != count or any(item is None for item in result):
            raise RuntimeError(f"{what}: {len(result)} results, expected {count}")
    return check


def graph(ctx: Context) -> list[Row]:
    s = ctx.settings
    sides = _GraphSides(ctx)
    try:
        n = len(ctx.emu.message_ids)
        listing = alternate({
            "ours": timed(sides.ours_list, _expect(n, "Office365 list")),
            "o365": timed(sides.o365_list, _expect(n, "O365 get_messages")),
            "sdk": timed(sides.sdk_list, _expect(n, "msgraph-sdk PageIterator")),
        }, runs=s.runs, warmup=s.warmup)
        ids = ctx.emu.message_ids[:s.by_id]
        by_id = alternate({
            "ours": timed(lambda: sides.ours_by_id(ids), _expect(len(ids), "Office365 get_mails_by_id")),
            "sdk": timed(lambda: sides.sdk_sequential(ids), _expect(len(ids), "msgraph-sdk loop")),
        }, runs=s.runs, warmup=s.warmup)
    finally:
        sides.close()
    page = f"{s.page_size} a page, `$select=id,subject`"
    return [
        Row.timed(f"list {n:,} messages (id, subject) through `Office365`", "O365 `get_messages`", "≤ 0.5×", 0.5,
                  listing["ours"], listing["o365"], notes=[page, "O365 with requests_delay=0 (default sleeps 200 ms "
                                                           "between calls)"]),
        Row.timed(f"list {n:,} messages (id, subject) through `Office365`", "msgraph-sdk `PageIterator`", "≤ 0.7×",
                  0.7, listing["ours"], listing["sdk"], notes=[page]),
        Row.timed(f"get {len(ids)} messages by id (`get_mails_by_id`)", "sequential msgraph-sdk loop",
                  "≤ 0.2× (≥ 5× faster)", 0.2, by_id["ours"], by_id["sdk"],
                  notes=["ours: `$batch` of 20, batches on 4 threads; whole messages on both sides"]),
    ]


# --- 6. processes whose shared cached token expires at once -------------------------------------------------------

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


COMPARISONS: dict[str, Callable[[Context], list[Row]]] = {
    "import": imports,
    "token": warm_tokens,
    "cli": cli_token,
    "graph": graph,
    "refresh": shared_expiry,
    "notify": notifications,
    "files": _files.files,
}


def environment(work: Path) -> dict[str, str]:
    """Child processes' environment: this one, with the default token cache folder inside ``work``."""
    env = dict(os.environ)
    env["NETKIT_MSAL_CACHE_DIR"] = str(work / "default-cache")
    return env


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
