"""A Graph call after a claims challenge (Continuous Access Evaluation): how many token requests it costs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import _peers
from ._measure import Row

if TYPE_CHECKING:
    from ._rows import Context


def claims_challenge(ctx: Context) -> list[Row]:
    """A CAE critical event for the signed-in user, then one Graph call: token requests it takes (target: 1).

    The emulator's `challenge_sessions` knob makes Graph answer every CAE token of the user issued until then with
    Entra's 401 `insufficient_claims` challenge. Ours: `Office365(provider).user.get_current()` over a provider that
    signed in with the browser flow: it reads the challenge, asks MSAL for a token with the claims and repeats the
    call. msgraph-sdk + azure-identity, as their documentation shows for a signed-in user: `GraphServiceClient`
    over `InteractiveBrowserCredential` (kiota's `AzureIdentityAuthenticationProvider`, CAE on by default), calling
    `client.me.get()`; kiota's request adapter retries once with the claims. Each round, each side (in turn):
    challenge, call, count the token and Graph requests the emulator saw. Both sides hold a token before the round.
    The row also requires that every one of our calls was challenged (two Graph requests: the 401 and the retry).
    """
    from netkit_msal import OAuth2Provider, Office365
    from netkit_msal.emulator._browser import install

    emu, s = ctx.emu, ctx.settings
    install(emu.ca_file)
    provider = OAuth2Provider(emu.params("signedIn", flow="browser", cache=False, loginHint=emu.upn))
    office = Office365(provider)
    credential = _peers.azure_browser_credential(emu)
    client = _peers.graph_sdk_client(emu, credential)
    loop = asyncio.new_event_loop()

    def ours() -> str:
        return str(office.user.get_current()["userPrincipalName"])

    def sdk() -> str:
        return str(loop.run_until_complete(client.me.get()).user_principal_name)

    counts: dict[str, list[float]] = {"ours": [], "sdk": []}
    graph_calls: dict[str, list[int]] = {"ours": [], "sdk": []}
    sides: dict[str, Callable[[], str]] = {"ours": ours, "sdk": sdk}
    try:
        for side in sides.values():  # each signs in and holds a token
            if side().lower() != emu.upn.lower():
                raise RuntimeError("the warm-up call answered for another user")
        for round_ in range(s.claims_rounds):
            for name in (("ours", "sdk") if round_ % 2 == 0 else ("sdk", "ours")):
                # the challenge covers tokens issued before it, to the second: let the last token age past one
                time.sleep(1.1)
                emu.challenge_sessions(emu.upn)
                emu.reset_stats()
                if sides[name]().lower() != emu.upn.lower():
                    raise RuntimeError(f"{name}: the call after the challenge answered for another user")
                stats = emu.stats()
                counts[name].append(stats.get("token", 0))
                graph_calls[name].append(stats.get("graph", 0))
    finally:
        emu.clear_conditional_access()
        office.close()
        provider.close()
        credential.close()
        loop.close()
    note = (f"Graph requests per call after the challenge: ours {sorted(set(graph_calls['ours']))}, msgraph-sdk "
            f"{sorted(set(graph_calls['sdk']))} (the challenged call and its retry)")
    return [Row.counted("Graph call after a claims challenge (CAE): token requests", "msgraph-sdk + azure-identity "
                        "`InteractiveBrowserCredential`", "1 extra token request, no more", 1, counts["ours"],
                        counts["sdk"], must=min(counts["ours"]) >= 1 and set(graph_calls["ours"]) == {2},
                        notes=[note])]

