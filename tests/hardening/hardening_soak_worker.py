"""One soak worker: gets tokens through OAuth2Provider from a shared file cache until told to stop.

``python hardening_soak_worker.py <params.json> <log file> <seed> <stop file>``. Each call that
succeeds appends ``ok <op>`` to the log (flushed), each failure ``fail <op> <type>: <message>``;
a warning from the cache module (an unreadable cache moved aside, a write that failed) is a failure
too. The parent SIGKILLs workers at random moments, often in the middle of a cache write, so a
line is written only after its call has finished. Exit status: 0 when every call succeeded.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time

from netkit_msal import OAuth2Provider

MAIL_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"


class _Failures(logging.Handler):
    """Any WARNING from the cache module is a failure of the soak (a torn or unwritable cache)."""

    def __init__(self, out) -> None:
        super().__init__(level=logging.WARNING)
        self.out = out
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.out.write(f"fail log {record.name}: {record.getMessage()[:300]}\n")
        self.out.flush()


def main() -> int:
    params_file, log_file, seed, stop_file = sys.argv[1:5]
    with open(params_file) as handle:
        params = json.load(handle)
    user_params, service_params = params["signedIn"], params["service"]
    rng = random.Random(int(seed))
    out = open(log_file, "a", buffering=1)
    watcher = _Failures(out)
    logging.getLogger("netkit_msal.cache").addHandler(watcher)
    logging.getLogger("netkit_msal.cache").setLevel(logging.WARNING)
    out.write(f"start {os.getpid()}\n")
    user = OAuth2Provider(user_params)
    failures = 0
    while not os.path.exists(stop_file):
        roll = rng.random()
        if roll < 0.45:
            op = "new-provider"
            call = lambda: OAuth2Provider(user_params).get_token(interactive=False)  # noqa: E731
        elif roll < 0.65:
            op = "force-refresh"
            call = lambda: user.get_token(force_refresh=True, interactive=False)  # noqa: E731
        elif roll < 0.80:
            op = "mail-scope"
            call = lambda: OAuth2Provider(user_params).get_token(MAIL_SCOPE, interactive=False)  # noqa: E731
        elif roll < 0.90:
            op = "service"
            call = lambda: OAuth2Provider(service_params).get_token(force_refresh=rng.random() < 0.5)  # noqa: E731
        else:
            op = "accounts"

            def call():
                provider = OAuth2Provider(user_params)
                if not provider.accounts():
                    raise RuntimeError("no account in the cache")
                if not provider.is_token_valid():
                    raise RuntimeError("is_token_valid() is False")
                return provider.token
        try:
            token = call()
            if token is None or not token.valid:
                raise RuntimeError(f"not a valid token: {token!r}")
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, the loop goes on
            failures += 1
            out.write(f"fail {op} {type(exc).__name__}: {str(exc)[:300]}\n")
        else:
            out.write(f"ok {op}\n")
        time.sleep(rng.uniform(0, 0.01))
    out.write("stopped\n")
    return 1 if failures or watcher.count else 0


if __name__ == "__main__":
    sys.exit(main())
