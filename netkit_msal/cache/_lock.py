"""The cross-process lock: threads and processes that share a token cache file exclude each other.

Its own module because the file store, the HTTP cache file and the Redis store (for its threads) all hold
it, and because kernel locks that die with their holder are a concern of their own, tested on their own.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from typing import Optional

from .._exceptions import CacheError


class _ProcessLock:
    """Mutual exclusion between threads and, given a ``path``, between processes; bounded wait.

    The process part is a kernel lock (flock / msvcrt) on a lock file that is never deleted, so it
    dies with its holder. The file stays open for the life of the lock (a reacquire costs ~2 µs,
    cheap enough to wrap every silent token call); a fork reopens it, since a shared open file would
    not exclude parent and child.
    """

    def __init__(self, path: Optional[str], *, purpose: str) -> None:
        self.path = path
        self.purpose = purpose
        self._pid = os.getpid()
        self._threads = threading.Lock()
        self._fd: Optional[int] = None

    def hold(self, timeout: float) -> _Holding:
        return _Holding(self, timeout)

    def _acquire(self, timeout: float) -> None:
        if self._pid != os.getpid():  # forked: nothing of the parent's lock state is ours
            self._pid, self._threads, self._fd = os.getpid(), threading.Lock(), None
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=max(timeout, 0)):
            raise CacheError(f"waited {timeout:g} s to {self.purpose} while another thread of this program held it")
        if self.path is None:
            return
        try:
            fd = self._fd if self._fd is not None else self._open()
            try:
                _try_lock(fd)
            except OSError as exc:
                self._wait_for_file(fd, exc, deadline, timeout)
        except BaseException:
            self._threads.release()
            raise
        try:  # who holds it, for the others' time-out message
            os.pwrite(fd, b"%-12d" % self._pid, 0)
        except (OSError, AttributeError):
            pass

    def _open(self) -> int:
        assert self.path is not None
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CacheError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from None
        return self._fd

    def _wait_for_file(self, fd: int, exc: OSError, deadline: float, timeout: float) -> None:
        delay = 0.001
        while True:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                raise CacheError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = _read_holder(fd)
                raise CacheError(
                    f"waited {timeout:g} s to {self.purpose} but the token cache lock {self.path} is held"
                    f"{f' by process {holder}' if holder else ''}; if no such process runs, retry"
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
            try:
                _try_lock(fd)
                return
            except OSError as again:
                exc = again

    def _release(self) -> None:
        try:
            if self._fd is not None:
                _unlock(self._fd)
        finally:
            self._threads.release()


class _Holding:
    """``with lock.hold(timeout):`` (a class, not a generator: this sits on the warm token path)."""

    __slots__ = ("_lock", "_timeout")

    def __init__(self, lock: _ProcessLock, timeout: float) -> None:
        self._lock = lock
        self._timeout = timeout

    def __enter__(self) -> None:
        self._lock._acquire(self._timeout)

    def __exit__(self, *exc_info: object) -> None:
        self._lock._release()


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() if hasattr(os, "pread") else ""
    except OSError:
        return ""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

