"""get_token(account=...), for_account() views and the provider's own account, with several users signed in.

Issue 15: one provider in a web app, several users; each caller gets their own user's token, never another's.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from netkit_msal import InteractionRequiredError, NetKitError, OAuth2Provider, Office365
from netkit_msal.emulator import GRAPH

from .conftest import web_sign_in


def _users(emu: Any, n: int) -> list[str]:
    return [u.upn for u in emu.users if not getattr(u, "shared", False)][:n]


def test_each_account_gets_its_own_token(emu, web):
    first, second = _users(emu, 2)
    assert web_sign_in(emu, web, first).username == first
    assert web_sign_in(emu, web, second).username == second
    # web sign-ins are not the provider's own account: token and username stay empty, consistently
    assert web.token is None and web.username is None
    for upn in (first, second):
        token = web.get_token(account=upn)
        assert token.username == upn and token.access_token_claims["upn"] == upn
        assert web.for_account(upn).get_token() is token  # from memory
    emu.reset_stats()
    for upn in (first, second):
        assert web.get_token(account=upn.upper()).username == upn  # usernames are case-insensitive
    assert emu.stats().get("token", 0) == 0


def test_home_account_id_names_an_account(emu, web):
    upn = _users(emu, 1)[0]
    web_sign_in(emu, web, upn)
    home = next(a["home_account_id"] for a in web.accounts() if a["username"] == upn)
    view = web.for_account(home)
    assert view.get_token().username == upn and view.username == upn


def test_several_accounts_without_account_is_a_clear_error(emu, web):
    for upn in _users(emu, 2):
        web_sign_in(emu, web, upn)
    with pytest.raises(NetKitError, match=r"account=") as caught:
        web.get_token()
    assert not isinstance(caught.value, InteractionRequiredError)
    assert not web.is_token_valid()


def test_unknown_account_needs_a_sign_in_and_gets_nobody_elses_token(emu, web):
    signed_in, other = _users(emu, 2)
    web_sign_in(emu, web, signed_in)
    emu.reset_stats()
    with pytest.raises(InteractionRequiredError, match=other):
        web.get_token(account=other)
    with pytest.raises(InteractionRequiredError):
        Office365(web.for_account(other)).user.get_current()
    assert emu.stats().get("authorize", 0) == 0


def test_expired_tokens_are_refreshed_for_their_own_account(emu, web):
    users = _users(emu, 3)
    emu.set_token_lifetime(299)  # MSAL refreshes these at every silent call
    for upn in users:
        web_sign_in(emu, web, upn)
    emu.reset_stats()
    for upn in users:
        token = web.get_token(account=upn, force_refresh=True)
        assert token.username == upn and token.access_token_claims["upn"] == upn
    assert emu.stats()["token:refresh_token"] == len(users)


def test_other_scopes_come_silently_for_that_account(emu, web):
    first, second = _users(emu, 2)
    web_sign_in(emu, web, first)
    web_sign_in(emu, web, second)
    token = web.for_account(second).get_token("Mail.Read")
    assert token.username == second and token.scopes == [f"{GRAPH}/Mail.Read"]


def test_sign_out_of_one_account_keeps_the_others(emu, web):
    first, second = _users(emu, 2)
    web_sign_in(emu, web, first)
    web_sign_in(emu, web, second)
    assert web.sign_out(first) == [first]
    with pytest.raises(InteractionRequiredError):
        web.get_token(account=first)
    assert web.get_token(account=second).username == second
    assert web.for_account(first).token is None


def test_a_view_works_where_a_provider_does(emu, web):
    upn = _users(emu, 2)[1]
    web_sign_in(emu, web, upn)
    view = web.for_account(upn)
    assert Office365(view).user.get_current()["userPrincipalName"] == upn
    credential = view.credential()
    assert credential.get_token(f"{GRAPH}/.default").token == view.get_token(f"{GRAPH}/.default").access_token
    client = view.graph_client()
    from netkit_msal import run_sync

    me = run_sync(client.me.get())
    assert me.user_principal_name == upn
    assert view.http_session() is web.http_session()


def test_views_are_checked(emu, web):
    from netkit_msal import ConfigError

    with pytest.raises(ConfigError) as caught:
        web.for_account("  ")
    assert caught.value.key == "account"
    service = OAuth2Provider(emu.params("service", cache=False))
    with pytest.raises(ConfigError):
        service.for_account("adele@contoso.example")
    with pytest.raises(ConfigError):
        service.get_token(account="adele@contoso.example")


def test_dozens_of_concurrent_requests_never_mix_users(emu, web):
    """Several users' requests at once through one provider: Graph's /me says whose token each one carried."""
    users = _users(emu, 4)
    for upn in users:
        web_sign_in(emu, web, upn)
    jobs = [users[i % len(users)] for i in range(64)]

    def request(n: int, upn: str) -> tuple[str, str, str]:
        view = web.for_account(upn)  # one view per request, as a web app does
        token = view.get_token(force_refresh=n % 4 == 0)  # some refresh while others read the cache
        me = Office365(view).user.get_current()
        return upn, str(token.access_token_claims["upn"]), str(me["userPrincipalName"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(request, range(len(jobs)), jobs))
    assert len(answers) == len(jobs)
    for asked, token_user, graph_user in answers:
        assert asked == token_user == graph_user
