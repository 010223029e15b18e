"""Watch an inbox: poll Graph and print each new mail as it arrives.

App registration (your tenant): the Microsoft Graph delegated permission Mail.Read and the redirect URI
``http://localhost`` (platform "Mobile and desktop applications"; or ``"flow": "deviceCode"`` in your
parameter file on a machine without a browser). As an app instead: the application permission Mail.Read,
a secret or certificate, and ``--user``. The token is refreshed silently for as long as the watch runs.

    python watch_inbox.py                                     # the embedded emulator: a colleague writes
    python watch_inbox.py --params me.json --interval 60      # until Ctrl+C
    python watch_inbox.py --params app.json --user helpdesk@contoso.com --max-polls 10

Polling is the simple way; Graph change notifications (webhooks) need a public HTTPS endpoint.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from _target import add_target_arguments, open_target

#: Without --interval/--max-polls the emulator's watch is short; your tenant's is endless.
EMULATOR_DEFAULTS = {"interval": 1.0, "max_polls": 3}
TENANT_DEFAULTS = {"interval": 30.0, "max_polls": 0}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser, user_help="mailbox to watch (an app's token); default: the signed-in user")
    parser.add_argument("--interval", type=float, help="seconds between polls (default: 30; emulator: 1)")
    parser.add_argument("--max-polls", type=int, help="stop after this many polls; 0 = never (default: 0; emulator: 3)")
    args = parser.parse_args(argv)

    from netkit_msal import NetKitError

    with open_target("signedIn", params_file=args.params, user=args.user) as target:
        defaults = EMULATOR_DEFAULTS if target.is_emulator else TENANT_DEFAULTS
        interval = defaults["interval"] if args.interval is None else args.interval
        max_polls = defaults["max_polls"] if args.max_polls is None else args.max_polls
        try:
            with target.provider() as provider, target.office365(provider) as office:
                colleague = _Colleague(target, provider) if target.is_emulator else None
                try:
                    watch(office, interval, max_polls, before_poll=colleague.write if colleague else None)
                finally:
                    if colleague:
                        colleague.close()
        except NetKitError as error:
            print(f"watch_inbox: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


def watch(office: Any, interval: float, max_polls: int, before_poll: Any = None) -> int:
    """Poll until ``max_polls`` (0: forever); returns how many new mails were seen."""
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    seen: set[str] = set()
    total = 0
    polls = 0
    whose = f"{office.user_id}'s" if office.user_id else "your"
    print(f"Watching {whose} inbox for mail received after {since:%H:%M:%S} UTC, "
          f"every {interval:g} s" + (f", {max_polls} polls" if max_polls else " (Ctrl+C stops)"))
    while True:
        polls += 1
        if before_poll:
            before_poll(polls)
        # "ge" and the ids seen: a mail received in the same second as the last one is not missed
        found = office.mail.get_mails({
            "folderId": "inbox", "filter": f"receivedDateTime ge {since:%Y-%m-%dT%H:%M:%SZ}",
            "orderBy": "receivedDateTime", "select": "id,subject,from,receivedDateTime", "top": 50})
        new = [mail for mail in found if mail["id"] not in seen]
        for mail in new:
            seen.add(mail["id"])
            sender = mail.get("from", {}).get("emailAddress", {}).get("address", "?")
            print(f"  new: {mail['subject']!r} from {sender} at {mail['receivedDateTime']}")
            since = max(since, datetime.fromisoformat(mail["receivedDateTime"].replace("Z", "+00:00")))
        total += len(new)
        print(f"poll {polls}: {len(new)} new")
        if max_polls and polls >= max_polls:
            break
        time.sleep(interval)
    print(f"Done: {total} new mails in {polls} polls")
    return total


class _Colleague:
    """On the emulator, a colleague who writes before each poll but the first: something to watch."""

    def __init__(self, target: Any, provider: Any) -> None:
        from netkit_msal import OAuth2Provider, Office365

        emulator = target.emulator
        self.to = target.user or provider.get_token().username
        self.sender = next(u.upn for u in emulator.users if u.upn != self.to and not u.shared)
        self._app = OAuth2Provider(emulator.params("service", cache=False))  # the service app sends as them
        self._office = Office365(self._app, {"userId": self.sender})

    def write(self, poll: int) -> None:
        if poll == 1:
            return
        subject = f"Status update {poll - 1}"
        print(f"(emulator) {self.sender} sends {subject!r}")
        self._office.mail.send({"subject": subject, "body": {"contentType": "text", "content": "All on track."},
                                "toRecipients": [{"emailAddress": {"address": self.to}}]}).raise_for_status()

    def close(self) -> None:
        self._office.close()
        self._app.close()


if __name__ == "__main__":
    sys.exit(main())
