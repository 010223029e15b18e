"""Claims challenges: the emulator's CAE events and authentication contexts, and every client answering one by
itself, once, with exactly one extra token request and the claims in the new token."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from netkit_msal import InteractionRequiredError, OAuth2Provider, run_sync
from netkit_msal._claims import claims_challenge
from netkit_msal._scopes import graph_scopes

GRAPH = "https://graph.microsoft.com"
KINDS = ("cae", "step-up")


@pytest.fixture
def provider(emu):
    """A signed-in provider (its own: each test changes what the user's tokens must carry)."""
    with OAuth2Provider(emu.params("signedIn", cache=False, loginHint=emu.users[0].upn)) as signed_in:
        signed_in.get_token()
        yield signed_in


def challenge(emu, kind: str, **options: str) -> None:
    upn = emu.users[0].upn
    if kind == "cae":
        emu.challenge_sessions(upn, **options)
    else:
        emu.require_auth_context(upn, "c1", **options)


def check_claims(kind: str, claims: dict, before: dict) -> None:
    """The new token carries what the challenge asked for."""
    assert claims["xms_cc"] == ["CP1"]
    if kind == "cae":
        assert claims["iat"] > before["iat"] and claims["uti"] != before["uti"]
    else:
        assert claims["acrs"] == ["c1"]


def graph_token(provider: OAuth2Provider) -> dict:
    """The claims of the provider's Graph token (from memory: no request)."""
    return provider.get_token(graph_scopes(provider.config), interactive=False).access_token_claims


def me_status(emu, provider: OAuth2Provider) -> object:
    token = provider.get_token(graph_scopes(provider.config), interactive=False)
    return provider.http_session().get(f"{emu.graph_url}/me", headers={"Authorization": f"Bearer {token.access_token}"})


# --- the emulator ------------------------------------------------------------------------------------------

def test_tokens_are_cae_capable(provider):
    assert graph_token(provider)["xms_cc"] == ["CP1"]


@pytest.mark.parametrize("kind", KINDS)
def test_graph_answers_with_entras_claims_challenge(emu, provider, kind):
    assert me_status(emu, provider).status_code == 200
    challenge(emu, kind)
    answer = me_status(emu, provider)
    assert answer.status_code == 401
    header = answer.headers["WWW-Authenticate"]
    assert header.startswith('Bearer realm="", authorization_uri="') and 'error="insufficient_claims"' in header
    encoded = header.split('claims="')[1].split('"')[0]
    claims = json.loads(base64.b64decode(encoded))  # standard base64, as in Entra's documentation
    if kind == "cae":
        assert claims["access_token"]["nbf"]["essential"] is True
        assert int(claims["access_token"]["nbf"]["value"]) > graph_token(provider)["iat"]
    else:
        assert claims == {"access_token": {"acrs": {"essential": True, "value": "c1"}}}
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_tokens_without_cp1_are_not_cae_tokens(emu, provider):
    """Entra revokes CAE tokens at once; others live to their expiry."""
    emu.challenge_sessions(emu.users[0].upn)
    plain = emu.mint_access_token(emu.users[0], (f"{GRAPH}/User.Read",), iat=graph_token(provider)["iat"] - 5)
    cae = emu.mint_access_token(emu.users[0], (f"{GRAPH}/User.Read",), iat=graph_token(provider)["iat"] - 5,
                                xms_cc=["CP1"])
    statuses = [provider.http_session().get(f"{emu.graph_url}/me", headers={"Authorization": f"Bearer {t}"})
                .status_code for t in (plain, cae)]
    assert statuses == [200, 401]


def test_app_tokens_are_not_challenged_for_a_user(emu):
    with OAuth2Provider(emu.params("service", cache=False)) as service:
        token = service.get_token()
        assert token.access_token_claims["xms_cc"] == ["CP1"]  # MSAL sends the capability in client credentials
        emu.challenge_sessions(emu.users[0].upn)
        emu.require_auth_context(emu.users[0].upn, "c1")
        answer = service.http_session().get(f"{emu.graph_url}/users/{emu.users[0].upn}",
                                            headers={"Authorization": f"Bearer {token.access_token}"})
        assert answer.status_code == 200


def test_documented_challenge_header_is_read():
    """The example of learn.microsoft.com/entra/identity-platform/claims-challenge."""
    header = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
              'error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbH'
              'VlIjoiY3AxIn19fQ=="')
    assert json.loads(claims_challenge({"WWW-Authenticate": header})) == \
        {"access_token": {"acrs": {"essential": True, "value": "cp1"}}}
    assert claims_challenge({"www-authenticate": 'Bearer realm="", error="invalid_token"'}) is None
    assert claims_challenge({"WWW-Authenticate": 'Bearer error="insufficient_claims", claims="bm90IGpzb24="'}) is None


# --- every client answers by itself, once ------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_office365(emu, provider, kind):
    from netkit_msal.office365 import Office365

    office = Office365(provider)
    assert office.user.get_current()["userPrincipalName"] == emu.users[0].upn
    before = graph_token(provider)
    challenge(emu, kind)
    emu.reset_stats()
    assert office.user.get_current()["userPrincipalName"] == emu.users[0].upn
    assert emu.stats()["token"] == 1
    check_claims(kind, graph_token(provider), before)
    office.user.get_current()
    assert emu.stats()["token"] == 1 and emu.stats()["graph"] == 3


@pytest.mark.parametrize("kind", KINDS)
def test_graph_client(emu, provider, kind):
    client = provider.graph_client()
    assert run_sync(client.me.get()).user_principal_name == emu.users[0].upn
    before = graph_token(provider)
    challenge(emu, kind)
    emu.reset_stats()
    assert run_sync(client.me.get()).user_principal_name == emu.users[0].upn
    assert emu.stats()["token"] == 1 and emu.stats()["graph"] == 2
    check_claims(kind, graph_token(provider), before)


@pytest.mark.parametrize("kind", KINDS)
def test_credential_in_an_azure_core_pipeline(emu, provider, kind):
    """azure-core's BearerTokenCredentialPolicy answers the challenge through the credential's get_token_info."""
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    credential = provider.credential()
    policy = BearerTokenCredentialPolicy(credential, f"{GRAPH}/User.Read", enable_cae=True)
    pipeline = Pipeline(transport=RequestsTransport(session=provider.http_session(), session_owner=False),
                        policies=[policy])

    def me() -> int:
        return pipeline.run(HttpRequest("GET", f"{emu.graph_url}/me")).http_response.status_code

    assert me() == 200
    challenge(emu, kind)
    emu.reset_stats()
    assert me() == 200
    assert emu.stats()["token"] == 1 and emu.stats()["graph"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_credential_get_token_and_get_token_info_pass_claims(emu, provider, kind):
    credential = provider.credential()
    scope = f"{GRAPH}/User.Read"
    before = json.loads(base64.urlsafe_b64decode(credential.get_token(scope).token.split(".")[1] + "=="))
    challenge(emu, kind)
    claims = claims_challenge(me_status(emu, provider).headers)
    emu.reset_stats()
    first = credential.get_token(scope, claims=claims, enable_cae=True)
    second = credential.get_token_info(scope, options={"claims": claims, "enable_cae": True})
    assert emu.stats()["token"] == 2
    for token in (first.token, second.token):
        check_claims(kind, json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")), before)


@pytest.mark.parametrize("kind", KINDS)
def test_async_credential_passes_claims(emu, provider, kind):
    credential = provider.async_credential()
    scope = f"{GRAPH}/User.Read"
    before = graph_token(provider)
    challenge(emu, kind)
    claims = claims_challenge(me_status(emu, provider).headers)
    emu.reset_stats()

    async def both() -> list[str]:
        first = await credential.get_token(scope, claims=claims, enable_cae=True)
        second = await credential.get_token_info(scope, options={"claims": claims})
        return [first.token, second.token]

    tokens = asyncio.run(both())
    assert emu.stats()["token"] == 2
    for token in tokens:
        check_claims(kind, json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")), before)


@pytest.mark.parametrize("kind", KINDS)
def test_provider_get_token_with_claims(emu, provider, kind):
    before = graph_token(provider)
    challenge(emu, kind)
    claims = claims_challenge(me_status(emu, provider).headers)
    assert claims is not None
    emu.reset_stats()
    token = provider.get_token(graph_scopes(provider.config), claims=claims, interactive=False)
    assert emu.stats()["token"] == 1
    check_claims(kind, token.access_token_claims, before)
    assert me_status(emu, provider).status_code == 200


# --- what a refresh token cannot satisfy --------------------------------------------------------------------

@pytest.mark.parametrize("kind, options", [("cae", {"revoke": True}), ("step-up", {"grant": "interactive"})])
def test_challenge_the_refresh_token_cannot_satisfy(emu, provider, kind, options):
    from netkit_msal.office365 import Office365

    office = Office365(provider)
    office.user.get_current()
    challenge(emu, kind, **options)
    with pytest.raises(InteractionRequiredError) as caught:
        office.user.get_current()
    asked = json.loads(caught.value.claims)["access_token"]
    assert ("nbf" if kind == "cae" else "acrs") in asked
    # an interactive sign-in passes the claims on and satisfies them (the emulator's headless browser signs in)
    emu.reset_stats()
    token = provider.get_token(graph_scopes(provider.config), claims=caught.value.claims)
    assert emu.stats()["authorize"] >= 1
    if kind == "step-up":
        assert token.access_token_claims["acrs"] == ["c1"]
    assert office.user.get_current()["userPrincipalName"] == emu.users[0].upn


def test_graph_client_signs_in_again_with_the_claims(emu, provider):
    """The azure-core credential may start a sign-in, as azure-identity's interactive credentials do: kiota's
    retry then gets a token from a sign-in that carried the claims."""
    client = provider.graph_client()
    run_sync(client.me.get())
    emu.require_auth_context(emu.users[0].upn, "c1", grant="interactive")
    emu.reset_stats()
    assert run_sync(client.me.get()).user_principal_name == emu.users[0].upn
    assert emu.stats()["authorize"] >= 1 and emu.stats()["graph"] == 2
    assert graph_token(provider)["acrs"] == ["c1"]


def test_second_challenge_after_the_retry(emu, provider):
    from netkit_msal.office365 import Office365

    office = Office365(provider)
    office.user.get_current()
    emu.require_auth_context(emu.users[0].upn, "c1", grant="never")
    emu.reset_stats()
    with pytest.raises(InteractionRequiredError) as caught:
        office.user.get_current()
    assert json.loads(caught.value.claims) == {"access_token": {"acrs": {"essential": True, "value": "c1"}}}
    assert emu.stats()["token"] == 1 and emu.stats()["graph"] == 2
    emu.reset_stats()
    with pytest.raises(InteractionRequiredError) as again:
        run_sync(provider.graph_client().me.get())
    assert json.loads(again.value.claims)["access_token"]["acrs"]["value"] == "c1"
    assert emu.stats()["graph"] == 2


def test_admin_route_knobs(emu, provider):
    """What the CLI-run emulator offers over HTTP: the same knobs."""
    session = provider.http_session()
    upn = emu.users[0].upn
    assert session.post(f"{emu.url}/_emulator/users/{upn}/auth-context", json={"context": "c1"}).status_code == 204
    assert me_status(emu, provider).status_code == 401
    assert session.post(f"{emu.url}/_emulator/users/{upn}/auth-context",
                        json={"context": "c1", "grant": "sometimes"}).status_code == 400
    assert session.delete(f"{emu.url}/_emulator/conditional-access").status_code == 204
    assert me_status(emu, provider).status_code == 200
    assert session.post(f"{emu.url}/_emulator/users/{upn}/challenge-sessions", json={}).status_code == 204
    assert me_status(emu, provider).status_code == 401
