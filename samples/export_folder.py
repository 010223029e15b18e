"""Export a mail folder to .eml files (one MIME file per mail), with a progress bar.

App registration (your tenant): the Microsoft Graph delegated permission Mail.Read and the redirect URI
``http://localhost`` (platform "Mobile and desktop applications"; or sign in with a device code by adding
``"flow": "deviceCode"`` to your parameter file). As an app instead: the application permission Mail.Read,
a secret or certificate, and ``--user``.

    python export_folder.py                                   # the embedded emulator: Adele's inbox
    python export_folder.py --params me.json --folder sentitems --out ./sent
    python export_folder.py --params app.json --user someone@contoso.com --folder inbox

``--folder`` is a folder id or a well-known name (inbox, sentitems, drafts, archive, deleteditems...).
The .eml files open in any mail program; their names start with the mail's received date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Optional, TextIO

from _target import add_target_arguments, open_target

#: Generated mails the emulator puts in the folder first, so that there are pages to go through.
EMULATOR_EXTRA_MAILS = 30


class ProgressBar:
    """``[#######.............]  7/20 mails``: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, total: int, *, width: int = 30, unit: str = "mails", stream: TextIO = sys.stderr) -> None:
        self.total, self.width, self.unit, self.stream = max(total, 0), width, unit, stream
        self.done = 0
        self._tty = stream.isatty()
        self._shown_tenth = -1

    def advance(self, count: int = 1) -> None:
        self.done += count
        tenth = 10 * self.done // self.total if self.total else 10
        if self._tty or tenth != self._shown_tenth or self.done == self.total:
            self._shown_tenth = tenth
            self._draw()

    def _draw(self) -> None:
        filled = self.width * min(self.done, self.total) // self.total if self.total else self.width
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {count} {self.unit}"
        self.stream.write(("\r" + line) if self._tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def file_name(index: int, mail) -> str:
    """``2026-11-28 0007 Subject words.eml``: sorts by date, safe on every file system."""
    date = mail.get("Date")
    stamp = date.datetime.strftime("%Y-%m-%d") if date is not None and getattr(date, "datetime", None) else "undated"
    subject = re.sub(r"[^\w .,()-]+", "_", str(mail.get("Subject") or "no subject")).strip(" ._")[:60]
    return f"{stamp} {index:04d} {subject or 'no subject'}.eml"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser, user_help="mailbox to export from (an app's token); default: the signed-in user")
    parser.add_argument("--folder", default="inbox", help="folder id or well-known name (default: inbox)")
    parser.add_argument("--out", type=Path, default=Path("export"),
                        help="folder for the .eml files (default: ./export)")
    parser.add_argument("--page-size", type=int, default=25, help="mails per Graph request (default: 25)")
    parser.add_argument("--limit", type=int, help="export at most this many mails")
    args = parser.parse_args(argv)

    from netkit_msal import NetKitError

    with open_target("signedIn", params_file=args.params, user=args.user) as target:
        try:
            with target.provider() as provider, target.office365(provider, {"mailType": "MIME"}) as office:
                if target.is_emulator:
                    print(f"(emulator) adding {EMULATOR_EXTRA_MAILS} generated mails to the {args.folder} folder")
                    target.emulator.graph.seed_messages(provider.get_token().username, EMULATOR_EXTRA_MAILS,
                                                        args.folder)
                return export(office, args.folder, args.out, args.page_size, args.limit)
        except NetKitError as error:
            print(f"export_folder: {error}", file=sys.stderr)
            return 1


def export(office, folder_id: str, out: Path, page_size: int, limit: Optional[int]) -> int:
    folder = office.mail.get_folder(folder_id)
    total = folder["totalItemCount"] if limit is None else min(limit, folder["totalItemCount"])
    print(f"Exporting {total} mails of {folder['displayName']!r} to {out}/")
    out.mkdir(parents=True, exist_ok=True)
    page_size = max(1, min(page_size, total))  # no need to fetch a whole page for a few mails
    mails = office.mail.get_mails({"folderId": folder_id, "top": page_size, "orderBy": "receivedDateTime",
                                   "select": "id"})
    bar = ProgressBar(total)
    written = 0
    for listed in mails:  # every page; a list holds Graph objects, get_mail gives each as MIME (the mail type)
        if written == total:
            break
        written += 1
        mail = office.mail.get_mail(listed["id"])
        (out / file_name(written, mail)).write_bytes(mail.as_bytes())
        bar.advance()
    bar.close()
    print(f"Wrote {written} .eml files in {mails.page} page(s) of up to {page_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
