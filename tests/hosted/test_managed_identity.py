"""Managed identity: MSAL's ManagedIdentityClient against the emulator's App Service endpoint, the parameter
object, the token cache, and every client built on such a provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from netkit_msal import AuthenticationError, ConfigError, OAuth2Provider
from netkit_msal.emulator import Emulator

GRAPH = "https://graph.microsoft.com"


@pytest.fixture
def mi_env(emu, monkeypatch):
    """The process environment of an App Service app whose host is the emulator."""
    for name, value in emu.managed_identity_environment().items():
        monkeypatch.setenv(name, value)
    for name in ("IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return emu


def mi_params(emu: Emulator, identity: object = True, **overrides: object) -> dict:
    """A service parameter object with a managed identity instead of clientId and secret."""
    return emu.params("service", **{"clientId": None, "clientSecret": None, "cache": False,
                                    "managedIdentity": identity, **overrides})


def identity(emu: Emulator, kind: str) -> dict:
    return next(i for i in emu.describe()["managedIdentity"]["identities"] if i["kind"] == kind)


CHILD = textwrap.dedent("""
    import json, os, sys
    import msal, requests
    from netkit_msal import OAuth2Provider
    from netkit_msal.office365 import Office365

    settings = json.loads(sys.argv[1])
    out = {"env": sorted(k for k in os.environ if k.startswith(("IDENTITY_", "MSI_", "AZURE_")))}
    # MSAL alone, with a plain requests session: the endpoint is plain HTTP on loopback, as on App Service
    plain = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=requests.Session())
    out["appService"] = msal.managed_identity.get_managed_identity_source() is msal.managed_identity.APP_SERVICE
    result = plain.acquire_token_for_client(resource="https://graph.microsoft.com")
    out["plain"] = sorted(result)
    # the same through a provider: no clientId, no secret
    provider = OAuth2Provider({"permission": "service", "managedIdentity": True, "cache": False,
                               "graphEndpoint": settings["graph"], "caFile": settings["ca"]})
    token = provider.get_token()
    claims = token.access_token_claims
    out["claims"] = {k: claims.get(k) for k in ("appid", "oid", "idtyp", "roles", "aud", "xms_mirid")}
    office = Office365(provider, {"userId": settings["upn"]})
    out["displayName"] = office.user.get(settings["upn"])["displayName"]
    print(json.dumps(out))
""")


def test_token_in_a_child_process_with_only_the_emulators_environment(emu):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IDENTITY_", "MSI_", "IMDS_", "AZURE_", "NETKIT_MSAL_EMULATOR"))}
    env.update(emu.managed_identity_environment())
    settings = {"graph": emu.url, "ca": emu.ca_file, "upn": emu.users[1].upn}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(settings)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["env"] == ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"]
    assert out["appService"] is True
    assert "access_token" in out["plain"] and "error" not in out["plain"]
    system = identity(emu, "systemAssigned")
    service_roles = emu.describe()["managedIdentity"]["roles"][GRAPH]
    assert out["claims"] == {"appid": system["clientId"], "oid": system["objectId"], "idtyp": "app",
                             "roles": service_roles, "aud": GRAPH, "xms_mirid": system["resourceId"]}
    assert out["displayName"] == emu.users[1].display_name


def test_the_identity_holds_the_service_apps_permissions(emu):
    described = emu.describe()
    service = next(a for a in described["apps"] if a["clientId"] == described["params"]["service"]["clientId"])
    assert service["kind"] == "confidential"
    roles = described["managedIdentity"]["roles"]
    assert "Mail.ReadWrite" in roles[GRAPH] and "IMAP.AccessAsApp" in roles["https://outlook.office365.com"]


@pytest.mark.parametrize("key, field", [("clientId", "clientId"), ("objectId", "objectId"),
                                        ("resourceId", "resourceId")])
def test_user_assigned_identity(mi_env, key, field):
    chosen = identity(mi_env, "userAssigned")
    with OAuth2Provider(mi_params(mi_env, {key: chosen[field]})) as provider:
        claims = provider.get_token().access_token_claims
    assert (claims["appid"], claims["oid"], claims["xms_mirid"]) == \
        (chosen["clientId"], chosen["objectId"], chosen["resourceId"])


def test_unknown_user_assigned_identity_is_an_authentication_error(mi_env):
    with OAuth2Provider(mi_params(mi_env, {"clientId": "00000000-0000-0000-0000-00000000dead"})) as provider:
        with pytest.raises(AuthenticationError, match="No User Assigned"):
            provider.get_token()


def test_wrong_identity_header_is_refused(mi_env, monkeypatch):
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    with OAuth2Provider(mi_params(mi_env)) as provider:
        with pytest.raises(AuthenticationError, match="401"):
            provider.get_token()


def test_cache_rules_are_a_service_apps(mi_env, tmp_path):
    """Memory, then MSAL's cache (persisted: another provider finds it), force_refresh and claims skip it."""
    cache = {"path": str(tmp_path / "cache.bin"), "allowUnencrypted": True}
    mi_env.reset_stats()
    with OAuth2Provider(mi_params(mi_env, cache=cache)) as first:
        token = first.get_token()
        assert first.get_token() is token
    uti = token.access_token_claims["uti"]  # compared rather than the tokens: a failure must not print them
    with OAuth2Provider(mi_params(mi_env, cache=cache)) as second:
        assert second.get_token().access_token_claims["uti"] == uti
        assert mi_env.stats()["managed_identity"] == 1
        assert second.get_token(force_refresh=True).access_token_claims["uti"] != uti
        assert mi_env.stats()["managed_identity"] == 2
        second.get_token(claims='{"access_token": {"nbf": {"essential": true, "value": "1"}}}')
        assert mi_env.stats()["managed_identity"] == 3
        assert second.accounts() == [] and second.sign_out() == []
        second.get_token()
        assert mi_env.stats()["managed_identity"] == 4  # sign_out forgot the cached token


def test_every_client_works_on_a_managed_identity(mi_env):
    from netkit_msal import run_sync
    from netkit_msal.mail._source import resolve
    from netkit_msal.office365 import Office365

    upn = mi_env.users[2].upn
    mi_env.reset_stats()
    with OAuth2Provider(mi_params(mi_env)) as provider:
        office = Office365(provider, {"userId": upn})
        assert office.user.get(upn)["userPrincipalName"] == upn
        users = run_sync(provider.graph_client().users.by_user_id(upn).get())
        assert users.user_principal_name == upn
        access = provider.credential().get_token(f"{GRAPH}/.default")
        same = access.token == provider.get_token().access_token  # a bool: a failure must not print the tokens
        assert same
        mail = provider.get_token("https://outlook.office365.com/.default")
        assert "IMAP.AccessAsApp" in mail.access_token_claims["roles"]
        creds = resolve(provider, "imap", user=upn)  # what mail.imap() logs in with: the app token for upn
        assert creds.user == upn
        assert mi_env.stats()["managed_identity"] == 2  # Graph's token and Outlook's, each asked once


@pytest.mark.parametrize("params, key", [
    ({"managedIdentity": True, "clientSecret": "x"}, "clientSecret"),
    ({"managedIdentity": True, "clientId": "x"}, "clientId"),
    ({"managedIdentity": True, "permission": "signedIn"}, "permission"),
    ({"managedIdentity": {"clientId": "a", "objectId": "b"}}, "managedIdentity"),
    ({"managedIdentity": {"principal": "a"}}, "managedIdentity"),
    ({"managedIdentity": {"clientId": ""}}, "managedIdentity.clientId"),
    ({"managedIdentity": {"clientId": 3}}, "managedIdentity.clientId"),
    ({"managedIdentity": "yes"}, "managedIdentity"),
])
def test_bad_managed_identity_parameters_name_the_key(params, key):
    with pytest.raises(ConfigError) as caught:
        OAuth2Provider(params)
    assert caught.value.key == key


def test_managed_identity_needs_no_client_id_nor_tenant():
    provider = OAuth2Provider({"managedIdentity": True})
    assert provider.config.permission == "service"
    assert provider.config.managed_identity is not None
    assert OAuth2Provider({"managedIdentity": False, "clientId": "x"}).config.managed_identity is None
