"""One retry policy (``netkit_msal._net.retry_delay``) for msgraph-sdk clients and Office365 (issue 18), and a
throttled token request that says when to retry.

msgraph-sdk's own retry handler sent ``POST /sendMail`` again after a 504, though Graph may have sent the mail
already: a non-idempotent request is not repeated once it may have reached Graph; a 429 or 503 (Graph refused
it) is retried after its ``Retry-After``. A 429 from the token endpoint did not say when to retry: its
AuthenticationError now carries ``retry_after``.

The emulator's faults answer before doing anything, so the emulator's request count is the number of attempts and
the recipient's inbox the number of mails delivered.
"""

from __future__ import annotations

import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from netkit_msal import AuthenticationError, GraphError, OAuth2Provider
from netkit_msal._graph import run_sync


@pytest.fixture
def app(emu):
    provider = OAuth2Provider(emu.params("service", cache=False))
    provider.get_token()  # the token is in hand: the counts below are Graph's only
    client = provider.graph_client()
    yield client
    provider.close()


def _send(client, sender: str, to: str) -> str:
    subject = f"retry {uuid.uuid4().hex[:8]}"
    message = Message(subject=subject, body=ItemBody(content="once"),
                      to_recipients=[Recipient(email_address=EmailAddress(address=to))])
    run_sync(client.users.by_user_id(sender).send_mail.post(SendMailPostRequestBody(message=message)),
             timeout=120)
    return subject


def _inbox(client, upn: str, subject: str) -> int:
    messages = client.users.by_user_id(upn).mail_folders.by_mail_folder_id("inbox").messages
    query = messages.MessagesRequestBuilderGetQueryParameters(filter=f"subject eq '{subject}'")
    return len(run_sync(messages.get(request_configuration=RequestConfiguration(query_parameters=query))).value)


def _graph_requests(emu) -> int:
    return emu.stats().get("graph", 0)


@pytest.mark.parametrize("status", [504, 500, 502])
def test_send_mail_is_not_sent_again_after_an_answer_that_may_mean_it_was_sent(emu, app, status):
    sender, recipient = emu.users[0].upn, emu.users[1].upn
    subject = f"retry {uuid.uuid4().hex[:8]}"
    message = Message(subject=subject, body=ItemBody(content="once"),
                      to_recipients=[Recipient(email_address=EmailAddress(address=recipient))])
    emu.reset_stats()
    emu.inject_fault("graph", status=status, count=1)
    with pytest.raises(GraphError) as caught:
        run_sync(app.users.by_user_id(sender).send_mail.post(SendMailPostRequestBody(message=message)), timeout=120)
    assert caught.value.status == status
    assert _graph_requests(emu) == 1  # one attempt: the SDK's handler made two (and the mail went out)
    assert _inbox(app, recipient, subject) == 0


def test_send_mail_refused_with_429_is_retried_and_sent_once(emu, app):
    emu.reset_stats()
    emu.inject_fault("graph", status=429, count=1, retry_after=0)
    subject = _send(app, emu.users[0].upn, emu.users[1].upn)
    assert _graph_requests(emu) == 2
    assert _inbox(app, emu.users[1].upn, subject) == 1


def test_send_mail_refused_with_503_is_retried_and_sent_once(emu, app):
    emu.reset_stats()
    emu.inject_fault("graph", status=503, count=2, retry_after=0)
    subject = _send(app, emu.users[0].upn, emu.users[1].upn)
    assert _graph_requests(emu) == 3
    assert _inbox(app, emu.users[1].upn, subject) == 1


def test_a_get_is_retried_after_a_504(emu, app):
    emu.reset_stats()
    emu.inject_fault("graph", status=504, count=2)
    user = run_sync(app.users.by_user_id(emu.users[0].upn).get(), timeout=120)
    assert user.user_principal_name == emu.users[0].upn and _graph_requests(emu) == 3


def test_a_retry_after_beyond_the_budget_is_raised_at_once_with_retry_after(emu, app):
    emu.reset_stats()
    emu.inject_fault("graph", status=429, count=1, retry_after=3600)
    with pytest.raises(GraphError) as caught:
        run_sync(app.users.by_user_id(emu.users[0].upn).get(), timeout=120)  # an hour's wait: not taken
    assert (caught.value.status, caught.value.retry_after) == (429, 3600.0)
    assert _graph_requests(emu) == 1


def test_request_options_still_turn_retries_off(emu, app):
    emu.reset_stats()
    emu.inject_fault("graph", status=503, count=1, retry_after=0)
    none = RequestConfiguration(options=[RetryHandlerOption(should_retry=False)])
    with pytest.raises(GraphError) as caught:
        run_sync(app.users.by_user_id(emu.users[0].upn).get(request_configuration=none), timeout=120)
    assert caught.value.status == 503 and _graph_requests(emu) == 1


# --- the token endpoint ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("permission", ["service", "signedIn"])
def test_a_throttled_token_request_says_when_to_retry(emu, tmp_path, permission):
    """Not retried (MSAL replays the 429 while its Retry-After runs, in new processes too): raised with
    ``retry_after`` instead, the first time and when replayed."""
    params = emu.params(permission, cache={"path": str(tmp_path / "cache.bin"), "allowUnencrypted": True})
    emu.set_token_lifetime(120)  # MSAL counts it expired at once: the next call refreshes
    OAuth2Provider(params).get_token()
    emu.reset_stats()
    emu.inject_fault("token", status=429, count=None, retry_after=30)
    for _ in range(2):  # a new provider each time, as a new process
        with pytest.raises(AuthenticationError) as caught:
            OAuth2Provider(params).get_token(interactive=False)
        assert caught.value.retry_after == 30.0
    assert emu.stats()["token"] == 1


def test_a_429_without_retry_after_has_none(emu):
    provider = OAuth2Provider(emu.params("service", cache=False))
    try:
        emu.inject_fault("token", status=429, count=1)
        with pytest.raises(AuthenticationError) as caught:
            provider.get_token()
        assert caught.value.retry_after is None and caught.value.error == "temporarily_unavailable"
    finally:
        provider.close()
