"""Token: 4D's shape, the Python view, JSON round trip, no secret in repr."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from netkit_msal import Token


def jwt(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{'s' * 43}"


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
ACCESS = jwt({"aud": "https://graph.microsoft.com", "tid": "t1", "upn": "adele@contoso.example", "exp": 1})
ID_TOKEN = jwt({"preferred_username": "adele@contoso.example", "tid": "t1", "oid": "o1"})
RESULT = {
    "access_token": ACCESS, "token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
    "scope": "https://graph.microsoft.com/User.Read", "refresh_token": "rt-1", "id_token": ID_TOKEN,
    "id_token_claims": {"preferred_username": "adele@contoso.example", "tid": "t1"},
    "token_source": "identity_provider",
}


def test_4d_shape_and_attributes():
    t = Token.from_msal_result(RESULT, now=NOW)
    assert t["token"]["access_token"] == ACCESS
    assert t["tokenExpiration"] == "2026-01-02T04:04:05Z"
    assert set(t) == {"token", "tokenExpiration"} and dict(t)["token"]["refresh_token"] == "rt-1"
    assert "id_token_claims" not in t["token"] and "token_source" not in t["token"]
    assert t.access_token == ACCESS and t.refresh_token == "rt-1" and t.id_token == ID_TOKEN
    assert t.expires_on == NOW + timedelta(hours=1) and t.expires_on.tzinfo is not None
    assert t.scopes == ["https://graph.microsoft.com/User.Read"]
    assert t.username == "adele@contoso.example" and t.tenant_id == "t1"
    assert t.id_token_claims["oid"] == "o1" and t.access_token_claims["aud"] == "https://graph.microsoft.com"
    assert t.valid is False  # 2026-01-02 is the past


def test_valid_with_a_margin():
    soon = Token({"access_token": "x"}, datetime.now(timezone.utc) + timedelta(seconds=30))
    later = Token({"access_token": "x"}, datetime.now(timezone.utc) + timedelta(minutes=10))
    assert not soon.valid and later.valid


def test_repr_shows_no_secret():
    t = Token.from_msal_result(RESULT, now=NOW)
    for text in (repr(t), str(t), f"{t}"):
        assert ACCESS not in text and "rt-1" not in text and ID_TOKEN not in text
        assert "adele@contoso.example" in text


def test_json_round_trip():
    t = Token.from_msal_result(RESULT, now=NOW)
    back = Token.from_json(t.to_json())
    assert back == t and back.expires_on == t.expires_on and back.username == t.username
    assert json.loads(t.to_json()) == {"token": t["token"], "tokenExpiration": "2026-01-02T04:04:05Z"}


def test_refresh_without_refresh_token_keeps_the_old_one():
    first = Token.from_msal_result(RESULT, now=NOW)
    refreshed = {k: v for k, v in RESULT.items() if k != "refresh_token"}
    assert Token.from_msal_result(refreshed, previous=first, now=NOW).refresh_token == "rt-1"
    rotated = dict(RESULT, refresh_token="rt-2")
    assert Token.from_msal_result(rotated, previous=first, now=NOW).refresh_token == "rt-2"


def test_online_leaves_the_refresh_token_out():
    t = Token.from_msal_result(RESULT, keep_refresh_token=False, now=NOW)
    assert t.refresh_token is None and "refresh_token" not in t["token"]


def test_cache_hit_gets_scope_and_account():
    hit = {"access_token": "opaque", "token_type": "Bearer", "expires_in": 1000, "token_source": "cache"}
    t = Token.from_msal_result(hit, scopes=["https://graph.microsoft.com/Mail.Read"],
                               account={"username": "megan@contoso.example", "realm": "t9"}, now=NOW)
    assert t.scopes == ["https://graph.microsoft.com/Mail.Read"]
    assert t.username == "megan@contoso.example" and t.tenant_id == "t9"
    assert t.access_token_claims == {}


@pytest.mark.parametrize("value, expiration, expected", [
    ({"token": {"access_token": "a"}, "tokenExpiration": "2030-01-01T00:00:00Z"}, None, "2030-01-01T00:00:00Z"),
    ({"access_token": "a"}, "2030-01-01T02:00:00+02:00", "2030-01-01T00:00:00Z"),
    ({"access_token": jwt({"exp": 1893456000})}, None, "2030-01-01T00:00:00Z"),
])
def test_from_4d(value, expiration, expected):
    assert Token.from_4d(value, expiration)["tokenExpiration"] == expected


def test_4d_local_time_without_zone_is_read_as_local_time():
    t = Token.from_4d({"access_token": "a"}, "2030-06-01T12:00:00")
    assert t.expires_on == datetime(2030, 6, 1, 12, 0).astimezone().astimezone(timezone.utc)


@pytest.mark.parametrize("value", [{"token": {}}, {"access_token": ""}, {"access_token": None}])
def test_from_4d_refuses_a_token_without_access_token(value):
    with pytest.raises(ValueError, match="no access_token"):
        Token.from_4d(value, "2030-01-01T00:00:00Z")


@pytest.mark.parametrize("expiration", ["2030-01-01T00:00:00Z", None], ids=["with-expiration", "exp-from-the-jwt"])
@pytest.mark.parametrize("field, value", [("access_token", True), ("access_token", 5), ("access_token", False),
                                          ("refresh_token", 5), ("id_token", ["a.b.c"])])
def test_from_4d_refuses_tokens_that_are_not_text(field, value, expiration):
    """Checked before the access token is decoded for its exp (that raised AttributeError)."""
    with pytest.raises(TypeError, match=f"{field} must be text, not {type(value).__name__}"):
        Token.from_4d({"access_token": ACCESS, field: value}, expiration)


@pytest.mark.parametrize("value, expiration", [
    ({"access_token": jwt({"exp": 1e20})}, None),
    ({"access_token": "a"}, "9999-12-31T23:59:59-05:00"),
], ids=["exp-claim", "tokenExpiration"])
def test_from_4d_refuses_an_expiry_out_of_range(value, expiration):
    with pytest.raises(ValueError, match="out of range"):
        Token.from_4d(value, expiration)


def test_from_4d_ignores_a_boolean_exp_and_claims_that_are_not_text():
    with pytest.raises(ValueError, match="no exp claim"):
        Token.from_4d({"access_token": jwt({"exp": True})})
    t = Token.from_4d({"access_token": jwt({"exp": 1893456000, "upn": 5, "tid": ["t1"]})})
    assert t.username is None and t.tenant_id is None
