"""A fleet of worker processes sharing one app identity through a token cache on Redis.

Each worker is a separate process (it could be on another machine): it builds its own OAuth2Provider
from the same parameter object, whose ``cache`` points at one Redis. When the workers start together,
one of them gets the app token (the others wait on the cache's refresh lock) and they all use it: the
identity platform sees one token request instead of one per worker. Tokens in Redis are encrypted with
``encryptionKey``, since a shared Redis is not a private disk.

App registration (your tenant): a confidential app with a client secret or a certificate and the
Microsoft Graph application permission User.Read.All (admin consent); no redirect URI. Needs the
``redis`` package (``pip install netkit-msal[redis]``) and a Redis server; on the emulator, a private
``redis-server`` on loopback is started when ``--redis`` is not given (Debian: apt-get install redis-server).

    python worker_fleet.py                                    # the emulator, 4 workers, a private Redis
    python worker_fleet.py --workers 8 --redis redis://cache.internal:6379/0 --params app.json \\
        --encryption-key "$NETKIT_CACHE_KEY"
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from _target import add_target_arguments, open_target

KEY_VARIABLE = "NETKIT_CACHE_KEY"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser, user_help="a user id or UPN: an app-only Office365 works on a mailbox "
                                           "(required on your tenant)")
    parser.add_argument("--workers", type=int, default=4, help="how many worker processes (default: 4)")
    parser.add_argument("--redis", help="Redis URL; default on the emulator: a private redis-server")
    parser.add_argument("--encryption-key", default=os.environ.get(KEY_VARIABLE),
                        help=f"key that encrypts the cached tokens (default: ${KEY_VARIABLE}; emulator: a random one)")
    parser.add_argument("--prefix", default="netkit-fleet", help="prefix of the cache's Redis keys")
    parser.add_argument("--worker", metavar="PARAMS_FILE", help=argparse.SUPPRESS)  # a worker's own run
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.user)

    with tempfile.TemporaryDirectory(prefix="netkit-fleet-") as workdir, _redis(args.redis, workdir) as url:
        key = args.encryption_key or secrets.token_urlsafe(32)
        cache = {"redis": url, "prefix": args.prefix, "encryptionKey": key}
        with open_target("service", params_file=args.params, user=args.user, cache=cache) as target:
            if not target.is_emulator and not args.encryption_key:
                parser.error(f"give --encryption-key (or ${KEY_VARIABLE}): the workers must share it")
            if not target.user:
                parser.error("--user is required on your tenant")
            params_file = Path(workdir) / "params.json"  # holds the secret: owner-only, removed at the end
            params_file.touch(mode=0o600)
            params_file.write_text(json.dumps(target.params), encoding="utf-8")
            before = target.emulator.stats().get("token", 0) if target.is_emulator else 0
            print(f"Starting {args.workers} workers sharing the token cache at {url.split('@')[-1]} "
                  f"(prefix {args.prefix!r})")
            command = [sys.executable, __file__, "--worker", str(params_file), "--user", target.user]
            workers = [subprocess.Popen(command) for _ in range(args.workers)]
            try:
                failed = sum(1 for process in workers if process.wait(timeout=120) != 0)
            finally:
                for process in workers:  # a worker still running after its time is stopped, not left behind
                    if process.poll() is None:
                        process.kill()
                        process.wait()
            print(f"{args.workers - failed} of {args.workers} workers done")
            if target.is_emulator:
                requests = target.emulator.stats().get("token", 0) - before
                print(f"Token requests at the identity platform: {requests} for {args.workers} workers")
    return 1 if failed else 0


def worker(params_file: str, user: str) -> int:
    """One worker: get the app token (the fleet's shared one, if there) and call Graph with it."""
    from netkit_msal import NetKitError, OAuth2Provider, Office365

    params = json.loads(Path(params_file).read_text(encoding="utf-8"))
    name = f"worker {os.getpid()}"
    try:
        with OAuth2Provider(params) as provider:
            token = provider.get_token()
            with Office365(provider, {"userId": user}) as office:
                users = list(office.user.list({"select": "displayName", "top": 50}))
        print(f"{name}: token valid until {token['tokenExpiration']}, listed {len(users)} users", flush=True)
        return 0
    except NetKitError as error:
        print(f"{name}: {error}", file=sys.stderr, flush=True)
        return 1


@contextmanager
def _redis(url: Optional[str], workdir: str) -> Iterator[str]:
    """The Redis URL given, else a private redis-server on loopback for the length of the run."""
    if url:
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("worker_fleet: give --redis URL, or install redis-server (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", workdir], stdout=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process)
        print(f"(started a private redis-server on 127.0.0.1:{port})")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"worker_fleet: redis-server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("worker_fleet: redis-server did not start")


if __name__ == "__main__":
    sys.exit(main())
