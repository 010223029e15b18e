"""Token checks (401/403/400 as Graph answers them) and the user endpoints, through GraphApi.handle."""

from __future__ import annotations

import pytest
from graph_emu_support import body, token


def test_missing_bad_expired_and_foreign_tokens_get_401_with_a_challenge(client, adele):
    for bearer, message in [(None, "empty"), ("bad", "validation failure"), ("expired", "expired"),
                            (token(adele, aud="https://outlook.office.com"), "audience")]:
        response = client.as_(bearer).get("/me")
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert response.headers["Content-Type"].startswith("application/json")
        error = body(response)["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert message in error["message"]
        assert set(error["innerError"]) >= {"request-id", "date"}


def test_graph_app_id_audience_is_accepted(client, adele):
    assert client.as_(token(adele, aud="00000003-0000-0000-c000-000000000000")).get("/me").status == 200


def test_missing_scope_or_role_is_403(client, adele):
    mail_only = client.as_(token(adele, scopes="Mail.Read"))
    assert body(mail_only.get("/users"))["error"]["code"] == "Authorization_RequestDenied"
    assert mail_only.get("/me/messages").status == 200
    response = mail_only.post("/me/mailFolders", {"displayName": "X"})
    assert response.status == 403 and body(response)["error"]["code"] == "ErrorAccessDenied"
    assert mail_only.get("/me/calendar").status == 403
    no_send = client.as_(token(None, roles=["Mail.Read"]))
    assert no_send.post(f"/users/{adele.id}/sendMail", {"message": {}}).status == 403
    assert no_send.get(f"/users/{adele.upn}/mailFolders/inbox/messages").status == 200


def test_app_only_me_is_400_and_users_path_works(app, adele):
    response = app.get("/me")
    assert response.status == 400
    assert "delegated" in body(response)["error"]["message"]
    assert body(app.get(f"/users/{adele.upn}"))["id"] == adele.id
    assert body(app.get(f"/users/{adele.id}/messages"))["value"]


def test_other_mailbox_needs_a_shared_scope(client, adele, megan, directory):
    assert client.get(f"/users/{megan.upn}/messages").status == 403
    assert client.get(f"/users/{adele.upn}/messages").status == 200  # one's own mailbox by UPN
    shared = client.as_(token(adele, scopes="Mail.ReadWrite.Shared Mail.Send.Shared"))
    sales = directory.user("sales@contoso.example")
    assert shared.get(f"/users/{sales.upn}/mailFolders/inbox/messages").status == 200
    assert shared.post(f"/users/{sales.upn}/sendMail", {"message": {
        "subject": "From sales", "toRecipients": [{"emailAddress": {"address": megan.upn}}]}}).status == 202


def test_me_and_user_by_id_or_upn_with_select(client, adele, megan):
    me = body(client.get("/me"))
    assert me["id"] == adele.id and me["userPrincipalName"] == adele.upn
    assert me["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert "department" not in me
    picked = body(client.get(f"/users/{megan.upn.upper()}", query={"$select": "displayName,department"}))
    assert {k: v for k, v in picked.items() if not k.startswith("@")} == {
        "displayName": "Megan Bowen", "department": "Marketing"}
    assert client.get("/users/nobody@contoso.example").status == 404
    assert body(client.get("/users", query={"$select": "nope"}))["error"]["code"] == "Request_BadRequest"


def test_users_filter_orderby_top_and_paging(client):
    page = body(client.get("/users", query={"$filter": "department eq 'Marketing'", "$orderby": "displayName desc",
                                            "$select": "displayName"}))
    assert [u["displayName"] for u in page["value"]] == ["Megan Bowen", "Alex Wilber"]
    names = []
    response = client.get("/users", query={"$top": "2", "$select": "userPrincipalName"})
    while True:
        page = body(response)
        names += [u["userPrincipalName"] for u in page["value"]]
        if "@odata.nextLink" not in page:
            break
        link = page["@odata.nextLink"]
        assert link.startswith("https://127.0.0.1:4443/v1.0/users?") and "$skiptoken=" in link
        response = client.follow(link)
    assert len(names) == 6 == len(set(names))
    starts = body(client.get("/users", query={"$filter": "startswith(displayName,'a') or givenName eq 'Lynne'"}))
    assert sorted(u["givenName"] for u in starts["value"]) == ["Adele", "Alex", "Lynne"]
    assert client.get("/users", query={"$filter": "displayName eq"}).status == 400


def test_users_search_and_count_need_consistency_level(client):
    query = {"$search": '"displayName:meg"', "$count": "true"}
    refused = client.get("/users", query={"$search": '"displayName:meg"'})
    assert refused.status == 400 and "ConsistencyLevel" in body(refused)["error"]["message"]
    assert client.get("/users", query={"$count": "true"}).status == 400
    page = body(client.get("/users", query=query, headers={"ConsistencyLevel": "eventual"}))
    assert page["@odata.count"] == 1 and page["value"][0]["displayName"] == "Megan Bowen"


@pytest.mark.parametrize("path", ["/nothing", "/me/nothing", "/users/adele@contoso.example/mailFolders/x/y/z"])
def test_unknown_paths_are_400(client, path):
    response = client.get(path)
    assert response.status == 400 and body(response)["error"]["code"] == "BadRequest"


def test_wrong_method_is_405(client):
    assert client.request("PUT", "/me/messages").status == 405


def test_client_request_id_is_echoed_in_errors(client):
    error = body(client.get("/me/nothing", headers={"client-request-id": "abc"}))["error"]
    assert error["innerError"]["client-request-id"] == "abc"
