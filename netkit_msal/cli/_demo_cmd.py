"""``netkit-msal demo``: the whole product in a few seconds, on the embedded emulator.

It starts the emulator, signs a user in the way a person would (the device code is shown, and a
simulated person types it on the emulator's sign-in page; or the browser flow with ``--browser``),
shows the token redacted, calls Graph, sends a mail through ``Office365`` and reads it back, then runs
``netkit-msal token`` in a new process to show the persistent cache answering with no request.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="sign in, call Graph and send a mail, all on the embedded Microsoft 365 emulator",
        description="Run the main job end to end against the embedded emulator: sign-in, token, Graph, "
                    "Office365 mail, and a second run served from the persistent cache.")
    parser.add_argument("--browser", action="store_true",
                        help="sign in with the browser flow (a headless browser) instead of the device code")
    parser.set_defaults(func=run)


class _Steps:
    """Numbered progress lines, each with its time since the start."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.number = 0

    def step(self, text: str) -> None:
        self.number += 1
        print(f"\n[{self.number}] {text}", flush=True)

    def say(self, text: str) -> None:
        print(f"    {text}", flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def run(args: argparse.Namespace) -> int:
    from ..emulator import Emulator

    steps = _Steps()
    with tempfile.TemporaryDirectory(prefix="netkit-msal-demo-") as workdir:
        steps.step("Starting the local Microsoft 365 emulator")
        with Emulator(Path(workdir) / "emulator", auto_approve=False) as emu:
            emu.settings.device_code_interval = 1  # Entra says 5 s; a demo need not wait that long
            steps.say(f"identity platform {emu.authority}")
            steps.say(f"Graph             {emu.graph_url}")
            steps.say(f"tenant {emu.domain}, {len(emu.users)} users, CA {emu.ca_file}")
            cache = {"path": str(Path(workdir) / "token-cache.bin"), "allowUnencrypted": True}
            params = emu.params("signedIn", cache=cache, accessType="offline",
                                flow="browser" if args.browser else "deviceCode")
            _demo(emu, params, steps, browser=args.browser, workdir=Path(workdir))
    print(f"\nDone in {steps.elapsed:.1f} s.")
    return 0


def _demo(emu: Any, params: dict[str, Any], steps: _Steps, *, browser: bool, workdir: Path) -> None:
    from .._provider import OAuth2Provider
    from ..office365 import Office365

    user = emu.users[0]
    if browser:
        steps.step(f"Signing in {user.upn} with the browser flow")
        emu.install_browser(user.upn)
        steps.say(f"the browser opens the sign-in page; the redirect comes back to {params['redirectURI']}")
        provider = OAuth2Provider(params)
    else:
        steps.step(f"Signing in {user.upn} with the device code flow")
        provider = OAuth2Provider(params, on_device_code=_person_types_the_code(emu, user.upn, steps))
    token = provider.get_token()

    steps.step("Token received")
    steps.say(f"access token  {_redacted(token.access_token)}")
    steps.say(f"account       {token.username} (tenant {token.tenant_id})")
    steps.say(f"expires       {token['tokenExpiration']} ({_minutes_left(token.expires_on)} min from now)")
    steps.say(f"scopes        {', '.join(s.rsplit('/', 1)[-1] for s in token.scopes)}")
    steps.say(f"refresh token {'yes, kept in the persistent cache' if token.refresh_token else 'no'}")

    office = Office365(provider)
    steps.step("Calling Microsoft Graph")
    me = office.user.get_current()
    steps.say(f"/me: {me['displayName']} <{me['userPrincipalName']}>, {me.get('jobTitle') or 'no title'}")
    inbox = office.mail.get_mails({"folderId": "inbox", "top": 5, "select": "subject,from,receivedDateTime",
                                   "orderBy": "receivedDateTime desc"})
    steps.say(f"inbox, newest {len(inbox.mails)}:")
    for mail in inbox.mails:
        sender = mail.get("from", {}).get("emailAddress", {}).get("address", "?")
        steps.say(f"  - {mail['subject']!r} from {sender}")

    steps.step("Sending a mail through Office365 and reading it back")
    subject = f"netkit-msal demo {datetime.now(timezone.utc):%H:%M:%S}"
    status = office.mail.send({
        "subject": subject,
        "body": {"contentType": "text", "content": "Sent by netkit-msal demo, through the Office365 facade."},
        "toRecipients": [{"emailAddress": {"address": user.upn}}],
    })
    steps.say(f"send: success={status.success} ({status.statusText})")
    found = office.mail.get_mails({"folderId": "inbox", "search": f'"{subject}"', "select": "id,subject"})
    mail_id = found.mails[0]["id"]
    mime = office.mail.get_mail(mail_id, {"mailType": "MIME"})
    steps.say(f"read back as MIME: Subject: {mime['Subject']}; From: {mime['From']}")
    steps.say(f"sendMail requests seen by the emulator: {emu.stats().get('sendMail', 0)}")
    office.close()
    provider.close()

    steps.step("A second run, in a new process: `netkit-msal token`")
    params_file = workdir / "params.json"
    params_file.write_text(json.dumps(params), encoding="utf-8")
    before = emu.stats()
    result = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "token", "--params", str(params_file)],
                            capture_output=True, text=True, timeout=60, env={**os.environ})
    if result.returncode != 0:
        raise SystemExit(f"netkit-msal token failed: {result.stderr.strip()}")
    requests_made = sum(emu.stats().values()) - sum(before.values())
    same = result.stdout.strip() == token.access_token
    steps.say(f"token from the persistent cache: {'the same token' if same else 'a token'}, "
              f"{requests_made} HTTP requests reached the emulator")


def _person_types_the_code(emu: Any, upn: str, steps: _Steps) -> Callable[[Mapping[str, Any]], None]:
    """The device code callback: show the message, then act as the person at the sign-in page."""
    import requests

    def person(flow: Mapping[str, Any]) -> None:
        session = requests.Session()
        session.trust_env = False
        session.verify = emu.ca_file
        page = flow["verification_uri"]
        session.post(page, data={"code": flow["user_code"]}, timeout=10).raise_for_status()
        session.post(page, data={"code": flow["user_code"], "user": upn, "consent": "yes", "action": "accept"},
                     timeout=10).raise_for_status()
        steps.say(f"(a person opened {page}, typed {flow['user_code']}, signed in as {upn} and consented)")

    def on_device_code(flow: Mapping[str, Any]) -> None:
        steps.say(flow["message"])
        threading.Thread(target=person, args=(flow,), daemon=True).start()

    return on_device_code


def _redacted(secret: str) -> str:
    return f"{secret[:6]}…(redacted, {len(secret)} characters)"


def _minutes_left(expires_on: datetime) -> int:
    return int((expires_on - datetime.now(timezone.utc)).total_seconds() // 60)
