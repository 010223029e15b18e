"""Send a report mail from cron, as an app: no one signs in (client credentials, "service" permission).

App registration (your tenant): a confidential app with a client secret or a certificate, the Microsoft
Graph *application* permission Mail.Send with admin consent (Mail.Read too for --check); no redirect URI.
Tip: an Exchange application access policy can limit the app to the mailboxes it may send as.

    python send_report.py                                        # the embedded emulator
    python send_report.py --params app.json --user reports@contoso.com --to boss@contoso.com
    AZURE_CLIENT_ID=... AZURE_TENANT_ID=... AZURE_CLIENT_SECRET=... python send_report.py --user ... --to ...

    # crontab: every weekday at 07:00
    0 7 * * 1-5  /path/to/venv/bin/python /path/to/send_report.py --params /etc/report-app.json --user ... --to ...

The report is a MIME mail with a CSV attachment (``--attach`` adds a file of yours). Exit code 0 when
Graph accepted the mail, 1 otherwise (cron mails you the output).
"""

from __future__ import annotations

import argparse
import csv
import io
import platform
import sys
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Optional

from _target import add_target_arguments, open_target


def build_report(recipients: list[str], subject: str, attach: Optional[Path]) -> EmailMessage:
    """The report mail: a text body and a CSV attachment (your job would put its figures here)."""
    now = datetime.now(timezone.utc)
    mail = EmailMessage()
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = subject
    mail.set_content(f"Nightly report from {platform.node()}, generated {now:%Y-%m-%d %H:%M} UTC.\n"
                     "The figures are attached.\n")
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["metric", "value"])
    writer.writerows([["generated_utc", now.isoformat(timespec="seconds")], ["host", platform.node()],
                      ["python", platform.python_version()]])
    mail.add_attachment(table.getvalue().encode("utf-8"), maintype="text", subtype="csv",
                        filename=f"report-{now:%Y%m%d}.csv")
    if attach is not None:
        mail.add_attachment(attach.read_bytes(), maintype="application", subtype="octet-stream",
                            filename=attach.name)
    return mail


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser, user_help="mailbox the report is sent from (required on your tenant)")
    parser.add_argument("--to", action="append", help="recipient (repeat for several); default: the sender")
    parser.add_argument("--subject", default=f"Nightly report {datetime.now(timezone.utc):%Y-%m-%d}")
    parser.add_argument("--attach", type=Path, help="a file to attach as well")
    parser.add_argument("--check", action="store_true",
                        help="then look for the report in the first recipient's inbox (needs Mail.Read)")
    args = parser.parse_args(argv)

    from netkit_msal import NetKitError

    with open_target("service", params_file=args.params, user=args.user) as target:
        if not target.user:
            parser.error("--user is required on your tenant: the mailbox the app sends as")
        recipients = args.to or [target.user]
        try:
            with target.provider() as provider, target.office365(provider, {"mailType": "MIME"}) as office:
                print(f"Sending {args.subject!r} as {target.user} to {', '.join(recipients)} (app-only token)")
                status = office.mail.send(build_report(recipients, args.subject, args.attach))
                print(f"Graph: {status.statusText} (HTTP {status.status})")
                if not status.success:
                    return 1
                if args.check or target.is_emulator:
                    return 0 if _found_in_inbox(provider, recipients[0], args.subject) else 1
        except NetKitError as error:  # bad parameters, refused credentials, Graph errors: one clear line
            print(f"send_report: {error}", file=sys.stderr)
            return 1
    return 0


def _found_in_inbox(provider, mailbox: str, subject: str) -> bool:
    from netkit_msal import Office365

    with Office365(provider, {"userId": mailbox}) as office:
        found = office.mail.get_mails({"folderId": "inbox", "search": f'"{subject}"',
                                       "select": "subject,hasAttachments"})
        if found.mails:
            mail = found.mails[0]
            print(f"Found in {mailbox}'s inbox: {mail['subject']!r}, attachments: {mail['hasAttachments']}")
            return True
    print(f"Not found in {mailbox}'s inbox: {subject!r}")
    return False


if __name__ == "__main__":
    sys.exit(main())
