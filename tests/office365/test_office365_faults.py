"""Throttling, dropped connections and time-outs: bounded retries, and a mail is never sent twice."""

from __future__ import annotations

import uuid

import pytest

from netkit_msal import GraphError
from netkit_msal.office365 import Office365, RetryPolicy


def _mail(users, subject):
    return {"subject": subject, "body": {"contentType": "text", "content": "x"},
            "toRecipients": [{"emailAddress": {"address": users["megan"].upn}}]}


def test_429_then_success_on_get(adele, emulator):
    emulator.inject_fault("graph", status=429, count=1, retry_after=1)
    assert adele.user.get_current()["id"]


def test_503_then_success_on_list(adele, emulator):
    emulator.inject_fault("graph", status=503, count=2)
    assert adele.mail.get_folder_list().success


def test_send_is_retried_after_429_and_sent_once(adele, users, emulator):
    before = emulator.stats().get("sendMail", 0)
    emulator.inject_fault("graph", status=429, count=1, retry_after=0)
    status = adele.mail.send(_mail(users, f"Throttled {uuid.uuid4().hex[:6]}"))
    assert status.success, status
    assert emulator.stats().get("sendMail", 0) == before + 1


def test_send_not_repeated_when_the_connection_drops(adele, users, emulator):
    before = emulator.stats().get("sendMail", 0)
    emulator.inject_fault("graph", drop=True, count=1)
    status = adele.mail.send(_mail(users, f"Dropped {uuid.uuid4().hex[:6]}"))
    assert status.success is False and status.status is None
    assert "not sent again" in status.statusText
    assert emulator.stats().get("sendMail", 0) == before  # and no second attempt was made


def test_get_retried_after_a_dropped_connection(adele, emulator):
    emulator.inject_fault("graph", drop=True, count=1)
    assert adele.user.get_current()["id"]


def test_throttling_beyond_the_budget_is_a_graph_error(service_provider, users, emulator):
    """A Retry-After beyond ``max_wait`` raises at once; a 5xx gives up after ``max_retries``.

    The faults never run out and the requests are counted, so the outcome can't depend on how many
    attempts are made: a second retry layer under the transport (the provider's session retrying
    5xx itself, as it briefly did: 3 x 3 attempts outlasted a fault count of 5 and the mail went)
    fails here every time, not now and then.
    """
    box = Office365(service_provider, {"userId": users["adele"].upn},
                    retry=RetryPolicy(max_retries=2, max_wait=1.0, backoff=0.01))
    box.user.get_current()  # the token is had: only Graph requests below
    before = emulator.stats()["graph"]
    emulator.inject_fault("graph", status=429, count=None, retry_after=30)
    with pytest.raises(GraphError) as caught:
        box.user.get_current()
    assert caught.value.status == 429 and caught.value.retry_after == 30
    assert emulator.stats()["graph"] - before == 1  # no retry: the wait asked is over the budget
    emulator.clear_faults()
    before, sent_before = emulator.stats()["graph"], emulator.stats().get("sendMail", 0)
    emulator.inject_fault("graph", status=503, count=None)
    status = box.mail.send(_mail(users, "never"))
    assert status.success is False and status.status == 503
    assert emulator.stats()["graph"] - before == 3, "one attempt and max_retries=2 retries, no more"
    assert emulator.stats().get("sendMail", 0) == sent_before


def test_timeout_is_typed(service_provider, users, emulator):
    box = Office365(service_provider, {"userId": users["adele"].upn}, timeout=(2.0, 0.3),
                    retry=RetryPolicy(max_retries=0))
    emulator.inject_fault("graph", latency=1.0, count=1)
    with pytest.raises(TimeoutError) as caught:
        box.user.get_current()
    assert isinstance(caught.value, GraphError)


def test_no_token_in_errors_or_logs(adele, users, emulator, caplog, service_provider):
    import logging

    caplog.set_level(logging.DEBUG)
    with pytest.raises(GraphError) as caught:
        adele.mail.get_mail("AAMkAGnothere")
    token = service_provider.get_token(f"{service_provider.config.graph_resource}/.default").access_token
    assert token not in str(caught.value) and token not in repr(caught.value)
    assert token not in caplog.text


def test_401_is_retried_once_with_a_refreshed_token(adele, emulator):
    before = emulator.stats().get("token", 0)
    emulator.inject_fault("graph", status=401, count=1)
    assert adele.user.get_current()["id"]
    assert emulator.stats().get("token", 0) == before + 1
    emulator.inject_fault("graph", status=401, count=2)
    with pytest.raises(GraphError) as caught:
        adele.user.get_current()
    assert caught.value.status == 401


def test_batch_retried_when_throttled(adele, emulator, users):
    ids = emulator.graph.store.seed_messages(users["adele"], 45, "inbox")
    emulator.inject_fault("graph", status=429, count=2, retry_after=0)
    mails = adele.mail.get_mails_by_id(ids, {"select": "id"})
    assert [m["id"] for m in mails] == ids


def test_token_never_sent_to_another_host(adele, emulator):
    before = emulator.stats().get("graph", 0)
    for url in ("https://localhost:1/v1.0/me", emulator.graph_url.replace("https://", "http://") + "/me"):
        with pytest.raises(GraphError) as caught:
            adele._transport.request("GET", url)
        assert caught.value.error_code == "foreignHost"
    assert emulator.stats().get("graph", 0) == before


def test_send_accepted_but_answer_late_is_not_sent_twice(service_provider, users, emulator):
    """The server takes the mail but answers after the read timeout: reported, never resent."""
    import time

    box = Office365(service_provider, {"userId": users["adele"].upn}, timeout=(2.0, 0.3),
                    retry=RetryPolicy(max_retries=3, max_wait=5.0, backoff=0.01))
    before = emulator.stats().get("sendMail", 0)
    emulator.inject_fault("graph", latency=0.8, count=1)
    status = box.mail.send(_mail(users, f"Late {uuid.uuid4().hex[:6]}"))
    assert status.success is False and "not sent again" in status.statusText
    assert status.errors[0]["errorCode"] == "timeout"
    deadline = time.monotonic() + 60  # reached only if the late request never lands
    while emulator.stats().get("sendMail", 0) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert emulator.stats().get("sendMail", 0) == before + 1


def test_lost_session_raises_instead_of_opening_a_browser(emulator, users):
    from netkit_msal import InteractionRequiredError, OAuth2Provider

    lynne = users["lynne"]
    emulator.install_browser(lynne.upn)
    provider = OAuth2Provider(emulator.params("signedIn", cache=False, loginHint=lynne.upn,
                                              scope=["User.Read", "Mail.Send"]))
    try:
        box = Office365(provider)
        assert box.user.get_current()["userPrincipalName"] == lynne.upn  # first call: signs in
        emulator.revoke_refresh_tokens(lynne.upn)
        authorize_before = emulator.stats().get("authorize", 0)
        emulator.inject_fault("graph", status=401, count=1)  # the server drops the session
        with pytest.raises(InteractionRequiredError):
            box.user.get_current()
        emulator.inject_fault("graph", status=401, count=1)
        with pytest.raises(InteractionRequiredError):  # not a failed status: the caller must act
            box.mail.send(_mail(users, "after revocation"))
        assert emulator.stats().get("authorize", 0) == authorize_before
    finally:
        provider.close()
        emulator.install_browser()
