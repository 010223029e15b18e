"""Objects that hold secrets show none in ``repr`` (issue 18): a repr lands in logs, tracebacks (pytest and
Sentry print locals), debuggers and notebooks. The pending sign-in holds the PKCE verifier; azure-core's
``AccessToken`` and ``AccessTokenInfo`` print the token."""

from __future__ import annotations

import asyncio

from azure.core.credentials import AccessToken, AccessTokenInfo

from netkit_msal import OAuth2Provider


def test_a_pending_sign_in_does_not_show_its_pkce_verifier(emu):
    provider = OAuth2Provider(emu.params(cache=False, flow="browser", browserAutoOpen=False))
    try:
        provider.authenticate_uri  # noqa: B018 -- prepares the sign-in: receiver bound, MSAL's flow made
        pending = provider._pending
        verifier, state = pending.flow["code_verifier"], pending.flow["state"]
        shown = repr(pending) + str(pending) + repr([pending]) + repr(vars(provider))
        assert verifier not in shown and state not in shown
        assert "PendingSignIn" in repr(pending) and pending.receiver.redirect_uri in repr(pending)
    finally:
        provider.close()


def test_credential_tokens_are_azure_core_tokens_that_hide_the_token(emu):
    provider = OAuth2Provider(emu.params("service", cache=False))
    try:
        credential = provider.credential()
        scope = f"{provider.config.graph_resource}/.default"
        token = credential.get_token(scope)
        info = credential.get_token_info(scope)
        assert isinstance(token, AccessToken) and isinstance(info, AccessTokenInfo)
        assert token.token == info.token == provider.get_token().access_token  # still usable by azure-core
        value, expires_on = token  # still the tuple azure-core code unpacks
        assert value == token.token and expires_on == token.expires_on
        for shown in (repr(token), str(token), f"{token}", repr([token]), repr(info), str(info),
                      repr(token._replace(expires_on=1))):
            assert token.token not in shown and "********" in shown, shown
        assert str(token.expires_on) in repr(token) and str(info.expires_on) in repr(info)

        async def both() -> tuple[AccessToken, AccessTokenInfo]:
            async_credential = provider.async_credential()
            return await async_credential.get_token(scope), await async_credential.get_token_info(scope)

        for item in asyncio.run(both()):
            assert item.token not in repr(item)
    finally:
        provider.close()
