"""Push mode keeping its subscription alive: renewal before expiration and Graph's lifecycle events."""

from __future__ import annotations

from notifier_support import new_mail, wait_until

from netkit_msal.office365._notifier_push import parse_iso

PUSH = {"endPoint": "http://127.0.0.1:0"}


def _subscription(emulator, notifier):
    mine = [s for s in emulator.subscriptions() if s["notificationUrl"].startswith(notifier.end_point + "/")]
    assert len(mine) == 1, mine
    return mine[0]


def test_renewal_before_expiration(office, emulator, recorder):
    # a 60-minute subscription renewed when under 3599.5 s are left: the first renewal comes half a second in
    notifier = office.mail.notifier(recorder.params(**PUSH), lifetime=60, renew_margin=3599.5)
    assert notifier.start().success
    try:
        first = notifier.expiration
        sub_id = _subscription(emulator, notifier)["id"]
        wait_until(lambda: notifier._source.renewals >= 2, "two renewals")
        wait_until(lambda: parse_iso(notifier.expiration) > parse_iso(first), "a later expiration")
        renewed = _subscription(emulator, notifier)
        assert renewed["id"] == sub_id, "renewal keeps the subscription (PATCH), no new one"
        assert parse_iso(renewed["expirationDateTime"]) > parse_iso(first)
        mail_id = new_mail(office)
        recorder.wait_for("mailCreated", mail_id)
    finally:
        notifier.stop()


def test_reauthorization_required_renews(office, emulator, recorder):
    with office.mail.notifier(recorder.params(**PUSH)) as notifier:
        sub_id = _subscription(emulator, notifier)["id"]
        assert emulator.send_lifecycle_event("reauthorizationRequired", sub_id) == [sub_id]
        wait_until(lambda: "reauthorizationRequired" in notifier._source.handled, "reauthorizationRequired handled")
        assert notifier._source.renewals == 1
        assert _subscription(emulator, notifier)["id"] == sub_id


def test_subscription_removed_subscribes_again(office, emulator, recorder):
    with office.mail.notifier(recorder.params(**PUSH)) as notifier:
        old = _subscription(emulator, notifier)
        emulator.send_lifecycle_event("subscriptionRemoved", old["id"])
        wait_until(lambda: "subscriptionRemoved" in notifier._source.handled, "subscriptionRemoved handled")
        new = _subscription(emulator, notifier)
        assert new["id"] != old["id"] and new["clientState"] != old["clientState"]
        mail_id = new_mail(office)
        recorder.wait_for("mailCreated", mail_id)


def test_missed_resynchronises_through_delta(office, emulator, recorder):
    with office.mail.notifier(recorder.params(**PUSH)) as notifier:
        delivered = new_mail(office, "delivered")
        recorder.wait_for("mailCreated", delivered)
        emulator.drop_notifications(True)
        lost = new_mail(office, "never notified")
        emulator.drop_notifications(False)
        before = emulator.stats()["delta"]
        emulator.send_lifecycle_event("missed", _subscription(emulator, notifier)["id"])
        recorder.wait_for("mailCreated", lost)
        assert emulator.stats()["delta"] > before
        # the resynchronisation reports what was lost, not again what was delivered
        assert recorder.ids("mailCreated").count(delivered) == 1
        assert "missed" in notifier._source.handled



def test_a_scheduled_renewal_catches_up_on_what_was_never_delivered(office, emulator, recorder):
    emulator.drop_notifications(True)  # nothing reaches the receiver, and no "missed" is sent either
    notifier = office.mail.notifier(recorder.params(**PUSH), lifetime=60, renew_margin=3599.5)
    assert notifier.start().success
    try:
        lost = new_mail(office, "never notified")
        emulator.drop_notifications(False)
        recorder.wait_for("mailCreated", lost)
        assert "renewal" in notifier._source.handled and "missed" not in notifier._source.handled
    finally:
        notifier.stop()
