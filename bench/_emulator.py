"""The emulator in its own process, so that its work never competes with the measured client for one GIL.

Real Graph and Entra are remote: a client's time is its own work plus the server's answer time. With the
emulator in the bench process, every client would also pay for the server's Python on its own interpreter
lock, and threaded clients (``$batch`` in parallel) would be penalised for it. The child seeds the
mailbox, prints one JSON line (what ``Emulator.describe()`` says, plus the seeded ids), then serves until its
stdin closes (a JSON line on its stdin seeds more messages: ``EmulatorProcess.seed``). Counters and knobs
go through the emulator's admin route (``/_emulator/...``), which is what
``Emulator.stats()`` and ``set_token_lifetime()`` are over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Optional

import requests


class EmulatorProcess:
    """``netkit_msal.emulator.Emulator`` running in a child process, ``messages`` generated messages in the
    first user's (otherwise empty) Archive folder."""

    def __init__(self, state_dir: str, *, messages: int) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench._emulator", state_dir, str(messages)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            self._child.wait(10)
            raise RuntimeError(f"the emulator process exited with {self._child.returncode} before it was ready")
        info = json.loads(line)
        self.info: dict[str, Any] = info["describe"]
        self.message_ids: list[str] = info["ids"]
        self.upn: str = info["upn"]
        self.other_upn: str = info["other_upn"]  # a second mailbox, for the rows that seed many messages
        self.url: str = self.info["url"]
        self.authority: str = self.info["authority"]
        self.tenant_id: str = self.info["tenant"]["id"]
        self.ca_file: str = self.info["caFile"]
        self.graph_url = f"{self.url}/v1.0"
        self._admin = requests.Session()
        self._admin.trust_env = False  # REQUESTS_CA_BUNDLE would replace the emulator's CA
        self._admin.verify = self.ca_file

    def public_app(self) -> dict[str, Any]:
        """The seeded public client app registration (clientId, redirectURIs)."""
        return next(app for app in self.info["apps"] if app["kind"] == "public")

    def secret_app(self) -> dict[str, Any]:
        """The seeded confidential app registration with a client secret (clientId, clientSecret)."""
        return next(app for app in self.info["apps"] if app.get("clientSecret"))

    def params(self, permission: str = "signedIn", **overrides: Any) -> dict[str, Any]:
        """The ready 4D parameter object the emulator prints, with ``overrides`` merged in."""
        params = dict(self.info["params"][permission])
        params.update(overrides)
        return params

    def _post(self, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        answer = self._admin.post(f"{self.url}/_emulator/{path}", json=body or {}, timeout=30)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def stats(self) -> dict[str, int]:
        """``Emulator.stats()``: request counts per endpoint (admin calls excluded from the others)."""
        answer = self._admin.get(f"{self.url}/_emulator/stats", timeout=30)
        answer.raise_for_status()
        return answer.json()

    def reset_stats(self) -> None:
        self._post("stats/reset")

    def set_token_lifetime(self, seconds: int) -> None:
        self._post("token-lifetime", {"seconds": seconds})

    def inject_fault(self, endpoint: str, **fault: Any) -> None:
        """``Emulator.inject_fault`` (e.g. ``latency=0.5, count=None`` delays every answer until cleared)."""
        self._post("faults", {"endpoint": endpoint, **fault})

    def clear_faults(self) -> None:
        answer = self._admin.delete(f"{self.url}/_emulator/faults", timeout=30)
        answer.raise_for_status()

    def challenge_sessions(self, upn: str) -> None:
        """A CAE critical event: Graph answers the user's tokens issued until now with a claims challenge."""
        self._post(f"users/{upn}/challenge-sessions")

    def clear_conditional_access(self) -> None:
        answer = self._admin.delete(f"{self.url}/_emulator/conditional-access", timeout=30)
        answer.raise_for_status()

    def seed(self, upn: str, count: int, folder: str) -> int:
        """Add ``count`` generated messages to ``upn``'s ``folder`` (in the emulator process: no HTTP per message,
        so 100,000 take seconds); returns how many the folder got."""
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(json.dumps({"seed": count, "upn": upn, "folder": folder}) + "\n")
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process exited while seeding")
        return int(json.loads(line)["seeded"])

    def stop(self) -> None:
        self._admin.close()
        if self._child.poll() is None:
            assert self._child.stdin is not None
            self._child.stdin.close()
            try:
                self._child.wait(15)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
        if self._child.stdout is not None:
            self._child.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _serve(state_dir: str, messages: int) -> None:
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=state_dir) as emu:
        upn = emu.users[0].upn
        ids = emu.graph.seed_messages(upn, messages, "archive") if messages else []
        # msgraph-core's LargeFileUploadTask needs "start-end" ranges and odd-sized fragments (bench/_files.py)
        emu.graph.drives.range_style, emu.graph.drives.strict_fragments = "start-end", False
        other = next(user.upn for user in emu.users[1:] if not user.shared)
        print(json.dumps({"describe": emu.describe(), "ids": ids, "upn": upn, "other_upn": other}), flush=True)
        for line in sys.stdin:  # serve until the bench closes our stdin (or exits); a line is a seeding order
            order = json.loads(line)
            seeded = emu.graph.seed_messages(order["upn"], int(order["seed"]), order["folder"])
            print(json.dumps({"seeded": len(seeded)}), flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
