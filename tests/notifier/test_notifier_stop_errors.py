"""stop() is final, forged notifications are dropped, and failures come back as 4D statuses."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request

import pytest
from notifier_support import WAIT, Recorder, new_mail

from netkit_msal import ConfigError

PUSH = {"endPoint": "http://127.0.0.1:0"}


@pytest.mark.parametrize("mode", [{"timer": 0.1}, PUSH], ids=["pull", "push"])
def test_nothing_is_called_after_stop(office, recorder, mode):
    entered, release = threading.Event(), threading.Event()
    calls = []

    def blocking(notifier, change):
        calls.append(change)
        entered.set()
        release.wait(WAIT)

    notifier = office.mail.notifier({"onCreate": blocking, **mode})
    witness = office.mail.notifier(recorder.params(timer=0.1))
    assert notifier.start().success and witness.start().success
    try:
        first = new_mail(office, "first")
        assert entered.wait(WAIT)
        queued = new_mail(office, "queued while the callback runs")
        recorder.wait_for("mailCreated", queued)  # the notifier has it too (or is about to)
        stopper = threading.Thread(target=notifier.stop)
        stopper.start()
        stopper.join(0.2)
        assert stopper.is_alive(), "stop() waits for the running callback"
        release.set()
        stopper.join(WAIT)
        assert not stopper.is_alive()
        after = new_mail(office, "after stop")
        recorder.wait_for("mailCreated", after)
    finally:
        release.set()
        notifier.stop()
        witness.stop()
    assert calls == [{"type": "mailCreated", "ids": [first]}]


def test_stop_from_inside_a_callback(office):
    done = threading.Event()
    calls = []

    def stop_here(notifier, change):
        calls.append(change)
        status = notifier.stop()
        assert status.success and not notifier.is_started
        done.set()

    notifier = office.mail.notifier({"onCreate": stop_here, "timer": 0.1})
    assert notifier.start().success
    new_mail(office, "one")
    assert done.wait(WAIT)
    assert len(calls) == 1


def test_a_failing_callback_is_logged_and_the_notifier_goes_on(office, recorder, caplog):
    failures, failed = [], threading.Event()

    def flaky(notifier, change):
        if not failures:
            failures.append(change)
            failed.set()
            raise RuntimeError("a bug in the callback")
        recorder(notifier, change)

    with office.mail.notifier({"onCreate": flaky, "timer": 0.1}):
        new_mail(office, "one")
        assert failed.wait(WAIT)
        second = new_mail(office, "two")
        recorder.wait_for("mailCreated", second)
    assert failures and "onCreate callback raised" in caplog.text


def _post(url: str, payload: dict) -> int:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_forged_notification_is_ignored(office, emulator, recorder):
    with office.mail.notifier(recorder.params(**PUSH)) as notifier:
        sub = next(s for s in emulator.subscriptions() if s["notificationUrl"].startswith(notifier.end_point + "/"))
        forged = {"subscriptionId": sub["id"], "changeType": "created", "clientState": "guessed",
                  "resource": "Users/x/Messages/forged", "resourceData": {"id": "forged-id"}}
        assert _post(sub["notificationUrl"], {"value": [forged]}) == 202
        assert _post(sub["notificationUrl"], {"value": [{**forged, "clientState": None}]}) == 202
        # a notification for another state, even with the right secret, goes nowhere
        other = notifier.end_point + "/4dnk-graph-notification?state=other"
        assert _post(other, {"value": [{**forged, "clientState": sub["clientState"]}]}) == 202
        # validation is answered for the notifier's own state only
        assert _post(other + "&validationToken=abc", {}) == 404
        real = new_mail(office)
        recorder.wait_for("mailCreated", real)
    assert "forged-id" not in recorder.ids("mailCreated")


def test_missing_folder_or_calendar_fails_start(office, recorder):
    for mode in ({"timer": 0.1}, PUSH):
        status = office.mail.notifier(recorder.params(**mode), folder_id="no-such-folder").start()
        assert status.success is False and status.status == 404 and status.errors, status
        status = office.calendar.notifier(recorder.params(**mode), calendar_id="no-such-calendar").start()
        assert status.success is False and status.status == 404, status


def test_refused_subscription_fails_start(office, emulator, recorder):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Graph (here the emulator) refuses a notification URL it cannot validate
    notifier = office.mail.notifier(recorder.params(endPoint=f"http://notifications.example:{port}",
                                                    listen=f"127.0.0.1:{port}"))
    status = notifier.start()
    assert status.success is False and status.status == 400 and "validation" in status.statusText.lower()
    assert not notifier.is_started
    # the port was given back: a notifier can listen there now
    with office.mail.notifier(recorder.params(endPoint=f"http://127.0.0.1:{port}")) as again:
        assert again.is_started


def test_port_in_use_fails_start(office, recorder):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = office.mail.notifier(recorder.params(endPoint=f"http://127.0.0.1:{port}")).start()
    assert status.success is False and status.errors[0]["errCode"] == 7 and "in use" in status.statusText


def test_throttled_delta_follows_retry_after(office, emulator, recorder):
    with office.mail.notifier(recorder.params(timer=0.1)):
        emulator.inject_fault("graph", status=429, count=2, retry_after=0.3)  # the transport waits and retries
        mail_id = new_mail(office)
        recorder.wait_for("mailCreated", mail_id)


def test_throttling_beyond_the_retry_budget_delays_the_next_round(emulator, office, recorder):
    """A Retry-After the transport may not wait (no retries here) makes the next round wait that long."""
    import logging

    from netkit_msal.office365 import Office365, RetryPolicy

    failed = threading.Event()
    messages = []

    class Spy(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())
            if "delta round failed" in record.getMessage():
                failed.set()

    spy = Spy()
    logger = logging.getLogger("netkit_msal.office365.notifier")
    logger.addHandler(spy)
    impatient = Office365(office._transport.provider, {"userId": office.user_id}, retry=RetryPolicy(max_retries=0))
    try:
        with impatient.mail.notifier(recorder.params(timer=0.1)):
            emulator.inject_fault("graph", status=429, count=1, retry_after=3)
            assert failed.wait(WAIT)
            mail_id = new_mail(office)
            recorder.wait_for("mailCreated", mail_id)
    finally:
        logger.removeHandler(spy)
        impatient.close()
    assert any("next in 3 s" in message and "429" in message for message in messages), messages


@pytest.mark.parametrize("params, key", [
    ({"onCreat": print}, "onCreat"), ({"timer": 0}, "timer"), ({"timer": "30"}, "timer"),
    ({"onCreate": "f"}, "onCreate"), ({"endPoint": "ftp://x"}, "endPoint"), ({"listen": "127.0.0.1:1"}, "listen"),
])
def test_bad_parameters_name_the_key(office, params, key):
    with pytest.raises(ConfigError) as caught:
        office.mail.notifier(params)
    assert caught.value.key == key


def test_start_and_stop_twice(office):
    notifier = office.mail.notifier({"timer": 0.1})
    assert notifier.stop().success
    assert notifier.start().success and notifier.start().success
    assert notifier.stop().success and notifier.stop().success


def test_recorder_is_sound():
    """The helper the tests wait with fails when the change never comes."""
    recorder = Recorder()
    import notifier_support

    old, notifier_support.WAIT = notifier_support.WAIT, 0.05
    try:
        with pytest.raises(AssertionError):
            recorder.wait_for("mailCreated", "never")
    finally:
        notifier_support.WAIT = old


def test_a_subscription_does_not_outlive_the_process(tmp_path, emulator):
    """A script that ends without stop(): the notifier is stopped at exit and its subscription deleted.

    Graph is the emulator in this test's process, as a remote service is: a server living in the dying script
    could not answer at exit (Python 3.12 refuses new threads then), which would test the server, not us.
    """
    import json
    import subprocess
    import sys

    params = tmp_path / "params.json"
    params.write_text(json.dumps(emulator.params("service", cache=False)), encoding="utf-8")
    script = tmp_path / "forgets_to_stop.py"
    script.write_text(f'''
import json
from netkit_msal import OAuth2Provider, Office365
office = Office365(OAuth2Provider(json.load(open({str(params)!r}))), {{"userId": {emulator.users[0].upn!r}}})
notifier = office.mail.notifier({{"endPoint": "http://127.0.0.1:0"}})
assert notifier.start().success
print("endpoint:", notifier.end_point)
''')
    created = emulator.stats().get("subscriptions.created", 0)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    end_point = done.stdout.split("endpoint:", 1)[1].strip()
    assert end_point.startswith("http://127.0.0.1:"), done.stdout
    assert emulator.stats().get("subscriptions.created", 0) == created + 1, "the script subscribed once"
    left = [s for s in emulator.subscriptions() if s["notificationUrl"].startswith(end_point + "/")]
    assert left == [], left
