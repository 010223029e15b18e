"""Put a report file on OneDrive (or a SharePoint library) from cron, as an app, and check it arrived intact.

App registration (your tenant): a confidential app with a client secret or a certificate, the Microsoft
Graph *application* permission Files.ReadWrite.All (or Sites.ReadWrite.All) with admin consent; no redirect URI.

    python upload_report.py                                           # the embedded emulator
    python upload_report.py --params app.json --user reports@contoso.com --file /var/reports/q4.csv
    python upload_report.py --params app.json --site contoso.sharepoint.com,<site guid>,<web guid> --file big.zip

Files up to 4 MB go in one request; larger ones in resumable chunks (a dropped connection resumes where the
server stopped, it never starts again from zero). Both directions are checked against the drive's
quickXorHash. Without ``--file`` a small CSV report is generated (``--size`` pads it, to try big files).
Exit code 0 when the file is on the drive and read back identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from _target import add_target_arguments, open_target


def generated_report(size: int) -> bytes:
    """A CSV report (your job would put its figures here), padded with rows up to ``size`` bytes."""
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["row", "host", "generated_utc"])
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    row = 0
    while row == 0 or table.tell() < size:
        writer.writerow([row, platform.node(), now])
        row += 1
    return table.getvalue().encode("utf-8")


class Bar:
    """A one-line progress display for ``progress(done, total)``: a line per 25 % when not a terminal."""

    def __init__(self, label: str) -> None:
        self.label, self.shown = label, -1

    def __call__(self, done: int, total: int) -> None:
        step = 100 if not total else done * 100 // total
        if sys.stdout.isatty():
            print(f"\r{self.label}: {step:3d}% ({done:,} of {total:,} bytes)", end="", flush=True)
            if done >= total:
                print()
        elif step // 25 != self.shown // 25 or (done >= total and self.shown < 100):
            self.shown = step
            print(f"{self.label}: {step}% ({done:,} of {total:,} bytes)", flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser, user_help="whose OneDrive receives the file (required on your tenant, "
                                           "unless --site)")
    parser.add_argument("--site", help="a SharePoint site id: upload to its document library instead")
    parser.add_argument("--file", type=Path, help="the file to upload (default: a generated CSV report)")
    parser.add_argument("--folder", default="/Reports", help="folder on the drive (default: /Reports)")
    parser.add_argument("--size", type=int, default=0, help="pad the generated report to this many bytes")
    parser.add_argument("--conflict", choices=("replace", "rename", "fail"), default="replace",
                        help="when the name is taken (default: replace)")
    args = parser.parse_args(argv)

    from netkit_msal import NetKitError

    with open_target("service", params_file=args.params, user=args.user) as target:
        if not target.user and not args.site:
            parser.error("--user (whose OneDrive) or --site is required on your tenant")
        name = args.file.name if args.file else f"report-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.csv"
        source = args.file if args.file else generated_report(args.size)
        remote = f"{args.folder.rstrip('/')}/{name}"
        try:
            with target.provider() as provider, target.office365(provider) as office:
                drive = office.drive_of({"siteId": args.site}) if args.site else office.drive
                where = f"site {args.site}" if args.site else f"{target.user}'s OneDrive"
                print(f"Uploading {name} to {where} at {remote} (app-only token)")
                status = drive.upload_file(source, remote, {"conflictBehavior": args.conflict},
                                           progress=Bar("upload"))
                print(f"Graph: {status.statusText} (HTTP {status.status})")
                if not status.success:
                    return 1
                item = status.item
                print(f"On the drive: {item['name']}, {item['size']:,} bytes, "
                      f"quickXorHash {'verified' if status.verified else 'not reported by the drive'}")
                with tempfile.TemporaryDirectory() as work:
                    copy = Path(work) / name
                    drive.get_file(status.id, copy, progress=Bar("download"))
                    original = args.file.read_bytes() if args.file else source
                    same = copy.read_bytes() == original
                print("Read back: " + ("identical" if same else "DIFFERENT"))
                listing = drive.list(args.folder, {"select": "name,size"})
                print(f"{args.folder} holds {sum(1 for _ in listing)} item(s)")
                return 0 if same else 1
        except NetKitError as error:  # bad parameters, refused credentials, Graph errors: one clear line
            print(f"upload_report: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
