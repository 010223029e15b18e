"""Each change type reaches its callback, in pull (delta) and in push (subscription) mode."""

from __future__ import annotations

import pytest
from notifier_support import new_event, new_mail


@pytest.fixture(params=["pull", "push"])
def mode_params(request):
    return {"timer": 0.1} if request.param == "pull" else {"endPoint": "http://127.0.0.1:0"}


def test_mail_changes_reach_their_callbacks(office, recorder, mode_params):
    notifier = office.mail.notifier(recorder.params(**mode_params))
    status = notifier.start()
    assert status.success and status["success"] is True, status
    try:
        assert notifier.is_started and notifier.isStarted
        mail_id = new_mail(office)
        recorder.wait_for("mailCreated", mail_id)
        assert office.mail.update(mail_id, {"isRead": True}).success
        recorder.wait_for("mailModified", mail_id)
        assert office.mail.delete(mail_id).success
        recorder.wait_for("mailDeleted", mail_id)
    finally:
        assert notifier.stop().success
    # what existed before start() is never reported: only our message's id appears
    assert {i for c in recorder.calls for i in c["ids"]} == {mail_id}
    assert len(recorder.threads) == 1 and recorder.threads != {"MainThread"}
    assert not notifier.is_started and notifier.expiration == ""


def test_event_changes_reach_their_callbacks(office, recorder, mode_params):
    with office.calendar.notifier(recorder.params(**mode_params)) as notifier:
        event_id = new_event(office)
        recorder.wait_for("eventCreated", event_id)
        assert office.calendar.update_event({"id": event_id, "subject": "Moved"}).success
        recorder.wait_for("eventModified", event_id)
        assert office.calendar.delete_event(event_id).success
        recorder.wait_for("eventDeleted", event_id)
        assert notifier.is_started
    assert not notifier.is_started
    assert {i for c in recorder.calls for i in c["ids"]} == {event_id}


def test_only_the_callbacks_given_are_watched(office, recorder, emulator):
    with office.mail.notifier({"onDelete": recorder, "endPoint": "http://127.0.0.1:0"}) as notifier:
        subscription = next(s for s in emulator.subscriptions() if s["notificationUrl"].startswith(notifier.end_point))
        assert subscription["changeType"] == "deleted"
        mail_id = new_mail(office)
        assert office.mail.delete(mail_id).success
        recorder.wait_for("mailDeleted", mail_id)
    assert [c["type"] for c in recorder.calls] == ["mailDeleted"]


def test_changes_iterates_without_callbacks(office):
    with office.mail.notifier({"timer": 0.1}) as notifier:
        mail_id = new_mail(office)
        seen = []
        for change in notifier.changes(timeout=20):
            seen.append(change)
            if change["type"] == "mailCreated" and mail_id in change["ids"]:
                break
        assert seen[-1] == {"type": "mailCreated", "ids": [mail_id]}


def test_pull_mode_members_and_delta_counter(office, emulator, recorder):
    before = emulator.stats()["delta"]
    notifier = office.mail.notifier(recorder.params(timer=0.1))
    assert (notifier.timer, notifier.end_point, notifier.expiration) == (0.1, "", "")
    assert notifier.start().success
    mail_id = new_mail(office)
    recorder.wait_for("mailCreated", mail_id)
    notifier.stop()
    assert emulator.stats()["delta"] > before
    assert notifier.expiration == ""


def test_push_mode_members_and_subscription_counter(office, emulator, recorder):
    before = emulator.stats()["subscriptions.created"]
    notifier = office.mail.notifier(recorder.params(endPoint="http://127.0.0.1:0"))
    assert notifier.start().success
    try:
        assert notifier.end_point.startswith("http://127.0.0.1:") and not notifier.end_point.endswith(":0")
        mine = [s for s in emulator.subscriptions() if s["notificationUrl"].startswith(notifier.end_point + "/")]
        assert len(mine) == 1
        assert mine[0]["expirationDateTime"] == notifier.expiration
        assert mine[0]["notificationUrl"].startswith(notifier.end_point + "/4dnk-graph-notification?state=")
        assert len(mine[0]["clientState"]) >= 32
    finally:
        notifier.stop()
    assert emulator.stats()["subscriptions.created"] == before + 1
    assert not [s for s in emulator.subscriptions() if s["id"] == mine[0]["id"]], "stop() deletes the subscription"
