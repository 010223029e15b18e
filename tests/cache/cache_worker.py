"""Child processes for the cache tests: write tokens through MSAL's cache API, or hold a lock.

``Worker(command, spec, ...)`` runs ``main`` in a real process forked from a forkserver that has MSAL,
the cache modules and redis imported once, so eight workers start in milliseconds, not seconds.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any, Optional

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "tenant-id"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def token_event(user: str, scope: str, *, access_token: str = "at-value", refresh_token: str = "rt-value") -> dict:
    """What MSAL hands to ``TokenCache.add`` after a token response (pure data, no network)."""
    claims = {"oid": user, "tid": TENANT, "preferred_username": f"{user}@example.test",
              "iss": f"https://login.example.test/{TENANT}/v2.0", "aud": CLIENT_ID}
    return {
        "client_id": CLIENT_ID,
        "scope": [scope],
        "token_endpoint": f"https://login.example.test/{TENANT}/oauth2/v2.0/token",
        "response": {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "id_token": f"e30.{_b64(claims)}.sig",
            "client_info": _b64({"uid": user, "utid": TENANT}),
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": scope,
        },
    }


def _store(spec: str):
    """``spec``: a cache file path, or a JSON ``cache`` parameter (Redis)."""
    from netkit_msal.cache import open_store, validate_cache_param

    param = json.loads(spec) if spec.startswith("{") else {"path": spec, "allowUnencrypted": True}
    store = open_store(validate_cache_param(param), name="unused")
    if "LOCK_TTL" in os.environ:
        store.lock_ttl = float(os.environ["LOCK_TTL"])
    return store


def main(argv: list[str], notify: Callable[[str], None]) -> None:
    command, path = argv[0], argv[1]  # path: a cache file, or a JSON cache parameter
    store = _store(path)
    if command == "write":  # write <path> <user> <count> [tag]: one token response per scope <tag>s0..
        user, count, tag = argv[2], int(argv[3]), (argv[4] if len(argv) > 4 else "")
        for i in range(count):
            store.token_cache.add(token_event(user, f"api://test/{tag}s{i}"))
    elif command == "hammer":  # hammer <path> <user>: big token responses, forever, until killed
        user = argv[2]
        notify("ready")
        i = 0
        while True:
            store.token_cache.add(token_event(user, f"api://test/h{i % 50}", access_token="x" * 20000))
            i += 1
    elif command == "hold":  # hold <path>: take the refresh lock and keep it until killed
        with store.refresh_lock():
            notify("locked")
            time.sleep(600)
    elif command == "section":  # section <path> <log> <count>: log enter/leave inside the refresh lock
        log_path, count = argv[2], int(argv[3])
        for _ in range(count):
            with store.refresh_lock():
                with open(log_path, "a") as log:
                    log.write(f"enter {os.getpid()}\n")
                time.sleep(0.005)
                with open(log_path, "a") as log:
                    log.write(f"leave {os.getpid()}\n")
    elif command == "refresh-once":  # refresh-once <spec> <counter file>: the get-or-refresh pattern
        counter = argv[2]
        with store.refresh_lock():
            if not list(store.token_cache.search("AccessToken", target=["api://test/shared"])):
                with open(counter, "a") as out:
                    out.write("refresh\n")  # stands for the one request to the token endpoint
                store.token_cache.add(token_event("shared-user", "api://test/shared"))
    elif command == "app-token":  # app-token <spec> <authority> <ca file> <client id> <secret> <scope>
        import msal
        import requests

        authority, ca_file, client_id, secret, scope = argv[2:7]
        session = requests.Session()
        session.trust_env, session.verify = False, ca_file
        app = msal.ConfidentialClientApplication(
            client_id, client_credential=secret, authority=authority, instance_discovery=False,
            http_client=session, token_cache=store.token_cache, http_cache=store.http_cache,
        )
        result = app.acquire_token_for_client([scope])
        notify(result.get("token_source", result.get("error", "?")))
    else:
        raise SystemExit(f"unknown command {command}")


_context: Optional[Any] = None


def _entry(argv: list[str], conn: Any, env: dict[str, str]) -> None:
    os.environ.update(env)
    main(argv, conn.send)


class Worker:
    """One child process running ``main(args)``; ``message()`` gets what it notified."""

    def __init__(self, *args: str, env: Optional[dict[str, str]] = None) -> None:
        global _context
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(
                ["cache_worker", "msal", "netkit_msal.cache", "netkit_msal.cache._redis", "redis",
                 "cryptography.hazmat.primitives.ciphers.aead", "cryptography.hazmat.primitives.kdf.hkdf"]
            )
        self._messages, child_end = _context.Pipe(duplex=False)
        self.process = _context.Process(target=_entry, args=(list(args), child_end, env or {}), daemon=True)
        self.process.start()
        child_end.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def message(self, timeout: float = 60) -> str:
        if not self._messages.poll(timeout):
            raise TimeoutError("the worker said nothing")
        return self._messages.recv()

    def wait(self, timeout: float = 60) -> Optional[int]:
        self.process.join(timeout)
        return self.process.exitcode

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join()
