"""The cross-process lock: threads and processes that share a token cache file exclude each other.

Its own module because the file store, the HTTP cache file and the Redis store (for its threads) all hold
it, and because kernel locks that die with their holder are a concern of their own, tested on their own.
Here too: what the file store trusts beside its file. Like ssh, it refuses a folder others can write to (they
could plant files or links there) and opens nothing through a link or that is not a regular file of ours.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
import time
from typing import IO, Optional

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
        self._fd = _open_owned(self.path, os.O_RDWR | os.O_CREAT, "the lock file")
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


_NO_LINKS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open


def _open_owned(path: str, flags: int, what: str) -> int:
    """``os.open`` that follows no link, never blocks and accepts only a regular file of ours; else CacheError.

    FileNotFoundError passes through (a missing file is no threat).
    """
    try:
        fd = os.open(path, flags | _NO_LINKS | getattr(os, "O_BINARY", 0), 0o600)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CacheError(f"{what} {path} is a symbolic link: refusing to follow it (remove it)") from None
        raise CacheError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    try:
        problem = _not_ours(os.fstat(fd))
    except OSError as exc:
        problem = exc.strerror or str(exc)
    if problem:
        os.close(fd)
        raise CacheError(f"{what} {path} {problem}: refusing to use it (remove it)")
    return fd


def _not_ours(st: os.stat_result) -> str:
    if not stat.S_ISREG(st.st_mode):
        return f"is {_kind(st.st_mode)}, not a regular file"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"belongs to user id {st.st_uid}, not to you"
    return ""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_private(path: str, what: str) -> IO[bytes]:
    """Open ``path`` for reading as :func:`_open_owned` does (no link, no FIFO, ours only)."""
    return os.fdopen(_open_owned(path, os.O_RDONLY, what), "rb")


def check_regular_or_missing(path: str) -> None:
    """CacheError unless ``path`` is missing or a regular file (not a link, FIFO, device, socket or folder)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CacheError(f"cannot inspect {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise CacheError(f"{path} is {_kind(st.st_mode)}, not a regular file: refusing to use it as a token cache "
                         "file (choose another cache.path)")


def check_private_folder(folder: str) -> None:
    """CacheError if ``folder`` belongs to another user (root aside) or others may write to it, as ssh refuses.

    Anyone who can create files there could plant an HTTP cache that sends the client secret elsewhere, or links
    the library would write through. POSIX only (Windows folders are guarded by ACLs).
    """
    if os.name != "posix":
        return
    try:
        st = os.stat(folder)
    except OSError as exc:
        raise CacheError(f"cannot inspect the token cache folder {folder}: {exc.strerror or exc}") from None
    if st.st_uid not in (os.geteuid(), 0):
        raise CacheError(f"the token cache folder {folder} belongs to user id {st.st_uid}, not to you: another "
                         "user could plant files beside your tokens. Use a folder of your own (cache.path)")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheError(f"the token cache folder {folder} is writable by others (mode {stat.S_IMODE(st.st_mode):o}):"
                         f" they could plant files beside your tokens. Run `chmod go-w {folder}` or use a folder "
                         "of your own (cache.path)")


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

