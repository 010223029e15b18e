"""Change notifications: the delay from a change to its callback, push mode against pull mode.

Both notifiers watch the same inbox (app-only, the bench user's mailbox) at once; each run appends one
message and times from just before the append until each notifier's ``onCreate`` callback gets its id.
Push: a Graph subscription delivering to the notifier's receiver on loopback (the emulator POSTs it
as Graph would). Pull: delta rounds every ``timer`` = 1 s, so its delay is about half the timer plus a
round (three delta calls, one per change type). Each run first waits a random part of the timer (not
timed), so changes do not always land just after a round (which would measure the worst case).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from ._measure import Row, alternate

PULL_TIMER = 1
WAIT = 30.0


class _Arrivals:
    """An ``onCreate`` callback noting when each id arrived."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._cond = threading.Condition()

    def __call__(self, notifier: Any, change: dict) -> None:
        now = time.perf_counter()
        with self._cond:
            for item_id in change["ids"]:
                self.at.setdefault(item_id, now)
            self._cond.notify_all()

    def wait(self, item_id: str) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: item_id in self.at, timeout=WAIT):
                raise RuntimeError(f"no callback for {item_id} within {WAIT} s")
            return self.at[item_id]


def notifications(ctx: Any) -> list[Row]:
    """The delay from a change to its callback: a push notifier against a pull one, both ours, on one inbox.

    Both notifiers watch the same inbox (app-only) at once; each run appends one message (`mail.append`) and times
    from just before the append until each notifier's `onCreate` callback has its id. Push: a Graph subscription
    delivering to the notifier's receiver on loopback (the emulator POSTs as Graph does). Pull: delta rounds every
    `timer` = 1 s, so its delay is about half the timer plus a round. Each run first waits a random part of the
    timer (not timed), so that changes do not always land just after a round.
    """
    from netkit_msal import OAuth2Provider, Office365

    s = ctx.settings
    provider = OAuth2Provider(ctx.emu.params("service", cache=False))
    office = Office365(provider, {"userId": ctx.emu.upn})
    push_arrivals, pull_arrivals = _Arrivals(), _Arrivals()
    push = office.mail.notifier({"onCreate": push_arrivals, "endPoint": "http://127.0.0.1:0"})
    pull = office.mail.notifier({"onCreate": pull_arrivals, "timer": PULL_TIMER})
    try:
        push.start().raise_for_status()
        pull.start().raise_for_status()

        def side(arrivals: _Arrivals) -> Any:
            def run() -> float:
                threading.Event().wait(random.uniform(0, PULL_TIMER))  # a random phase against pull's rounds
                started = time.perf_counter()
                status = office.mail.append({"subject": "bench", "body": {"contentType": "text", "content": "x"}},
                                            "inbox")
                status.raise_for_status()
                push_arrivals.wait(status.id)  # both have it before the next run starts
                pull_arrivals.wait(status.id)
                return arrivals.at[status.id] - started
            return run

        samples = alternate({"push": side(push_arrivals), "pull": side(pull_arrivals)}, runs=s.runs, warmup=s.warmup)
    finally:
        push.stop()
        pull.stop()
        office.close()
        provider.close()
    return [Row.timed("change → callback delay, push (`endPoint` on loopback)", f"pull mode, `timer` {PULL_TIMER} s",
                      "≤ 0.1×", 0.1, samples["push"], samples["pull"],
                      notes=["from just before `mail.append` until the `onCreate` callback has the new id; both "
                             "notifiers watch at once; pull's delay is about half its timer plus one delta round"])]
