"""Helpers of the notifier tests: callbacks that record and let a test wait on an event, never on a sleep."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from netkit_msal.office365 import Office365

#: Generous bound for anything to arrive; tests wait on events and never need it when all is well.
WAIT = 20.0


class Recorder:
    """Callbacks that record ``(notifier, change)`` calls and let a test wait for a condition."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()

    def __call__(self, notifier: Any, change: dict) -> None:
        with self._changed:
            self.calls.append(change)
            self.threads.add(threading.current_thread().name)
            self._changed.notify_all()

    def params(self, **extra: Any) -> dict:
        return {"onCreate": self, "onModify": self, "onDelete": self, **extra}

    def ids(self, kind: str) -> list[str]:
        with self._changed:
            return [i for c in self.calls if c["type"] == kind for i in c["ids"]]

    def wait_for(self, kind: str, item_id: str) -> None:
        self.wait(lambda: item_id in self.ids(kind), f"{kind} {item_id}")

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, timeout=WAIT), f"{what} never reached the callback: {self.calls}"


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Wait for a state that no callback announces (a renewal on the emulator), with a bound."""
    done = threading.Event()
    for _ in range(int(WAIT / 0.02)):
        if predicate():
            return
        done.wait(0.02)
    raise AssertionError(f"{what}: not within {WAIT} s")


def new_mail(office: Office365, subject: str = "Notifier test") -> str:
    status = office.mail.append({"subject": subject, "body": {"contentType": "text", "content": "x"}}, "inbox")
    assert status.success, status
    return status.id


def new_event(office: Office365, subject: str = "Notifier meeting") -> str:
    from datetime import datetime, timedelta, timezone

    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    status = office.calendar.create_event({"subject": subject, "start": start, "end": start + timedelta(hours=1)})
    assert status.success, status
    return status.id
