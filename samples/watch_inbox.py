"""Watch an inbox: print each new mail as it arrives, through 4D's mail notifier (Graph change notifications).

App registration (your tenant): the Microsoft Graph delegated permission Mail.Read and the redirect URI
``http://localhost`` (platform "Mobile and desktop applications"; or ``"flow": "deviceCode"`` in your
parameter file on a machine without a browser). As an app instead: the application permission Mail.Read,
a secret or certificate, and ``--user``. The token is refreshed silently for as long as the watch runs.

    python watch_inbox.py                                     # the embedded emulator: a colleague writes
    python watch_inbox.py --push http://127.0.0.1:8765        # push: a Graph subscription posting here
    python watch_inbox.py --params me.json --timer 60         # pull every 60 s, until Ctrl+C
    python watch_inbox.py --params app.json --user helpdesk@contoso.com --count 10

Pull (the default) runs Graph's delta query every --timer seconds and needs nothing else. Push (--push URL)
needs Graph to reach URL: on your tenant a public HTTPS address whose proxy forwards to --listen (for
example --push https://hooks.example.com --listen 127.0.0.1:8765); on the emulator any loopback URL.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional

from _target import add_target_arguments, open_target

#: Without --count/--idle the emulator's watch ends after the colleague's mails; your tenant's is endless.
EMULATOR_DEFAULTS = {"timer": 1.0, "count": 3, "idle": 30.0}
TENANT_DEFAULTS = {"timer": 30.0, "count": 0, "idle": 0.0}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser, user_help="mailbox to watch (an app's token); default: the signed-in user")
    parser.add_argument("--timer", type=float, help="pull: seconds between delta rounds (default: 30; emulator: 1)")
    parser.add_argument("--push", metavar="URL", help="push mode: the endPoint Graph posts notifications to")
    parser.add_argument("--listen", metavar="HOST:PORT", help="push mode: where to listen, when not URL's host:port")
    parser.add_argument("--count", type=int, help="stop after this many new mails; 0 = never (default: 0; emulator: 3)")
    parser.add_argument("--idle", type=float, help="stop after this many seconds without a change; 0 = never")
    args = parser.parse_args(argv)

    from netkit_msal import NetKitError

    with open_target("signedIn", params_file=args.params, user=args.user) as target:
        defaults = EMULATOR_DEFAULTS if target.is_emulator else TENANT_DEFAULTS
        timer = defaults["timer"] if args.timer is None else args.timer
        count = int(defaults["count"] if args.count is None else args.count)
        idle = defaults["idle"] if args.idle is None else args.idle
        if args.push:
            param: dict[str, Any] = {"endPoint": args.push, **({"listen": args.listen} if args.listen else {})}
        else:
            param = {"timer": timer}
        try:
            with target.provider() as provider, target.office365(provider) as office:
                colleague = _Colleague(target, provider) if target.is_emulator else None
                try:
                    watch(office, param, count, idle, started=colleague.write if colleague else None)
                finally:
                    if colleague:
                        colleague.close()
        except NetKitError as error:
            print(f"watch_inbox: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


def watch(office: Any, param: dict[str, Any], count: int, idle: float, started: Any = None) -> int:
    """Print new mail until ``count`` of them (0: no limit) or ``idle`` quiet seconds (0: never); returns
    how many were seen. With no callback in ``param``, the notifier's ``changes()`` yields each change."""
    whose = f"{office.user_id}'s" if office.user_id else "your"
    total = 0
    with office.mail.notifier(param) as notifier:  # start(); a refusal raises (stop() on leaving)
        how = f"push to {notifier.end_point}" if notifier.end_point else f"pull every {notifier.timer:g} s"
        limits = [f"{count} mails" if count else "", f"{idle:g} s idle" if idle else ""]
        print(f"Watching {whose} inbox ({how}), until {' or '.join(filter(None, limits)) or 'Ctrl+C'}")
        if started:
            started()
        for change in notifier.changes(timeout=idle or None):
            if change["type"] != "mailCreated":
                print(f"  {change['type']}: {len(change['ids'])} mail(s)")
                continue
            for mail in office.mail.get_mails_by_id(change["ids"], {"select": "subject,from,receivedDateTime"}):
                if mail is None:  # gone again before we looked
                    continue
                sender = mail.get("from", {}).get("emailAddress", {}).get("address", "?")
                print(f"  new: {mail['subject']!r} from {sender} at {mail['receivedDateTime']}")
                total += 1
            if count and total >= count:
                break
    print(f"Done: {total} new mails")
    return total


class _Colleague:
    """On the emulator, a colleague who writes three mails once the watch has started: something to see."""

    def __init__(self, target: Any, provider: Any) -> None:
        from netkit_msal import OAuth2Provider, Office365

        emulator = target.emulator
        self.to = target.user or provider.get_token().username
        self.sender = next(u.upn for u in emulator.users if u.upn != self.to and not u.shared)
        self._app = OAuth2Provider(emulator.params("service", cache=False))  # the service app sends as them
        self._office = Office365(self._app, {"userId": self.sender})

    def write(self) -> None:
        for number in (1, 2, 3):
            subject = f"Status update {number}"
            print(f"(emulator) {self.sender} sends {subject!r}")
            self._office.mail.send({"subject": subject, "body": {"contentType": "text", "content": "All on track."},
                                    "toRecipients": [{"emailAddress": {"address": self.to}}]}).raise_for_status()

    def close(self) -> None:
        self._office.close()
        self._app.close()


if __name__ == "__main__":
    sys.exit(main())
