"""The file store: a token cache file shared by the processes of one user, encrypted where the platform can.

Why not msal-extensions' ``PersistedTokenCache`` as is: its ``FilePersistence`` rewrites the file in
place (a process killed mid-write leaves a truncated cache), it decides to reload by comparing the
file's coarse mtime with ``time.time()`` (two writes within one kernel clock tick can go unseen and
the next write then drops the other process's tokens), it writes once per entry of a token response,
and its lock file, left behind by a killed process, makes everyone wait five seconds. We keep its
encryption back ends (DPAPI, Keychain, libsecret) and do the file part ourselves: atomic replace, reload
on a change of (inode, mtime_ns, size), one write per token response, kernel locks that die with their holder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Optional, Union

import msal

from .._exceptions import CacheError
from .._paths import default_cache_dir
from ._base import WRITE_LOCK_TIMEOUT, TokenStore, memory_store, warn_once
from ._fast import HTTP_SUFFIX, cache_file_path, check_trusted_place, parse_cache
from ._http import _PersistentHttpCache
from ._lock import _Holding, _ProcessLock, open_private
from ._settings import CacheSettings

_Signature = tuple  # (st_ino, st_mtime_ns, st_size) of the file as read or written


def open_file_store(settings: CacheSettings, *, name: str) -> TokenStore:
    """The file backend's opener. ``name`` is the file name (no extension) in the default folder.

    Never fails for want of encryption: falls back to plaintext or memory (``allowUnencrypted``), with at most
    one warning. Raises CacheError for a folder others could plant files in or a path that is no regular file.
    """
    path = cache_file_path(settings, name, default_cache_dir)
    folder = os.path.dirname(path)
    try:
        _make_private_dir(folder)
    except OSError as exc:
        why = f"cannot create the folder {folder}: {exc.strerror or exc}"
        warn_once(path, f"netkit-msal: {why}; tokens are kept in memory only for this run.")
        return memory_store(f"in memory: {why}")
    check_trusted_place(path)
    persistence, reason = _encrypted_persistence(path)
    if persistence is None:
        if settings.allow_unencrypted is False:
            warn_once(
                path,
                f"netkit-msal: no encrypted storage available for the token cache ({reason}); tokens are kept "
                'in memory only and this program will sign in again next time, as "allowUnencrypted": false asks. '
                'Omit it for a plaintext file readable only by you, or set "cache": false to silence this warning.',
            )
            return memory_store(f"in memory: encryption unavailable ({reason}) and allowUnencrypted is false")
        if settings.allow_unencrypted is None:
            warn_once(
                path,
                f"netkit-msal: no encrypted storage available for the token cache ({reason}); tokens are kept in "
                f"the plaintext file {path}, readable only by you. Set \"cache\": {{\"allowUnencrypted\": true}} "
                'to accept this and silence this warning, or "cache": false to keep tokens in memory only.',
            )
        persistence = _AtomicFile(path)
    kind = f"encrypted ({persistence.scheme})" if persistence.encrypted else "plaintext, owner-only"
    token_cache = _SharedTokenCache(persistence, lock_path=path + ".lock")
    http_cache = _PersistentHttpCache(_HttpFile(path + HTTP_SUFFIX, lock_path=path + ".lock"))
    return TokenStore(
        token_cache,
        http_cache,
        description=f"file {path} ({kind})",
        location=path,
        encrypted=persistence.encrypted,
        refresh_lock_path=path + ".refresh.lock",
    )


def _make_private_dir(folder: str) -> None:
    """Create ``folder`` owner-only if missing; an existing folder is left as its owner set it."""
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.name == "posix":
            os.chmod(folder, 0o700)  # whatever the umask


# --------------------------------------------------------------------------------------------
# Persistences: load/save text with a signature that changes with every write
# --------------------------------------------------------------------------------------------
class _AtomicFile:
    """A file written by write-temp, fsync, ``os.replace``: readers and killed writers never see half a file.

    ``encode``/``decode`` wrap the bytes (Windows DPAPI); plain UTF-8 otherwise.
    """

    def __init__(
        self,
        path: str,
        *,
        encode: Optional[Callable[[str], bytes]] = None,
        decode: Optional[Callable[[bytes], str]] = None,
        scheme: str = "plaintext",
    ) -> None:
        self.path = path
        self.scheme = scheme
        self.encrypted = encode is not None
        self._encode = encode or (lambda text: text.encode("utf-8"))
        self._decode = decode or (lambda data: data.decode("utf-8"))
        self._swept = False

    def signature(self) -> Optional[_Signature]:
        return _stat_signature(self.path)

    def load(self) -> tuple[str, _Signature]:
        """Return (text, signature of exactly that content). Raises FileNotFoundError."""
        with open_private(self.path, "the token cache") as handle:
            st = os.fstat(handle.fileno())
            data = handle.read()
        return self._decode(data), (st.st_ino, st.st_mtime_ns, st.st_size)

    def save(self, text: str) -> _Signature:
        """Replace the file atomically; call with the writers' lock held."""
        if not self._swept:
            _sweep_temp_files(self.path)
            self._swept = True
        return _atomic_write(self.path, self._encode(text))

    def move_aside(self) -> Optional[str]:
        target = f"{self.path}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        try:
            os.replace(self.path, target)
        except FileNotFoundError:
            return None
        return target


class _KeyringFile:
    """An msal-extensions keyring persistence (macOS Keychain, libsecret): payload in the keyring,
    a signal file touched on every save gives the signature."""

    def __init__(self, persistence: Any, scheme: str) -> None:
        self._persistence = persistence
        self.path: str = persistence.get_location()
        self.scheme = scheme
        self.encrypted = True

    def signature(self) -> Optional[_Signature]:
        return _stat_signature(self.path)

    def load(self) -> tuple[str, _Signature]:
        from msal_extensions.persistence import PersistenceNotFound

        sig = self.signature()  # before the read: a write in between only causes one more reload
        try:
            text = self._persistence.load()
        except PersistenceNotFound:
            raise FileNotFoundError(errno.ENOENT, "nothing stored yet", self.path) from None
        if sig is None:
            raise FileNotFoundError(errno.ENOENT, "signal file missing", self.path)
        return text, sig

    def save(self, text: str) -> _Signature:
        self._persistence.save(text)
        # A new inode per save, so two saves within one clock tick still differ.
        return _atomic_write(self.path, secrets.token_hex(8).encode("ascii"))

    def move_aside(self) -> Optional[str]:
        return None  # the unreadable payload is overwritten by the next save


def _encrypted_persistence(path: str) -> tuple[Optional[Union[_AtomicFile, _KeyringFile]], str]:
    """The platform's encrypted persistence for ``path``, or (None, why not)."""
    try:
        if sys.platform.startswith("win"):
            from msal_extensions.windows import WindowsDataProtectionAgent

            agent = WindowsDataProtectionAgent()
            return _AtomicFile(path, encode=agent.protect, decode=agent.unprotect, scheme="Windows DPAPI"), ""
        if sys.platform == "darwin":
            from msal_extensions.persistence import KeychainPersistence

            keyring = _KeyringFile(KeychainPersistence(path), "macOS Keychain")
        elif sys.platform.startswith("linux"):
            from msal_extensions.persistence import LibsecretPersistence

            keyring = _KeyringFile(LibsecretPersistence(path), "libsecret")
        else:
            return None, f"no encrypted storage on {sys.platform}"
        with contextlib.suppress(FileNotFoundError):
            keyring.load()  # a locked or absent keyring fails here, not at the first token
        return keyring, ""
    except ImportError as exc:
        if sys.platform.startswith("linux"):
            return None, "libsecret needs PyGObject, which is not installed"
        return None, f"ImportError: {exc}"
    except Exception as exc:  # noqa: BLE001 - D-Bus, locked keyring, no session: any failure means "not here"
        return None, f"{type(exc).__name__}: {exc}".strip()[:200]


def _stat_signature(path: str) -> Optional[_Signature]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _atomic_write(path: str, data: bytes) -> _Signature:
    """Write ``data`` to ``path`` through a temporary file in the same folder; owner-only."""
    folder = os.path.dirname(path) or "."
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _replace(source: str, target: str) -> None:
    """``os.replace``; on Windows a reader holding the target open makes it fail briefly: retry."""
    for attempt in range(50):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if os.name == "posix" or attempt == 49:
                raise
            time.sleep(0.02)


def _sweep_temp_files(path: str) -> None:
    """Remove temporary files that writers killed mid-write left behind (called with the lock held)."""
    folder, base = os.path.split(path)
    prefix = base + ".tmp-"
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder or "."):
            if entry.startswith(prefix):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, entry))


# --------------------------------------------------------------------------------------------
# Token cache shared through a file
# --------------------------------------------------------------------------------------------
class _SharedTokenCache(msal.SerializableTokenCache):
    """An MSAL token cache mirrored to a persistence, for several processes at once.

    Reads reload only when the file's signature moved (one ``stat`` on the warm path). Writes take the
    writers' lock, reload, apply, and replace the file once per MSAL operation. An unparsable file is
    moved aside with a warning and the cache starts empty. The thread lock is always taken before the
    file lock, so threads of one process cannot deadlock on the pair.
    """

    def __init__(self, persistence: Union[_AtomicFile, _KeyringFile], *, lock_path: str) -> None:
        super().__init__()
        self._persistence = persistence
        self._writers = _ProcessLock(lock_path, purpose="write the token cache")
        self._signature: Optional[_Signature] = None
        self._text: Optional[str] = None  # the content last read or written
        self._batching = False
        self.is_encrypted = persistence.encrypted

    def _writers_lock(self) -> _Holding:
        return self._writers.hold(WRITE_LOCK_TIMEOUT)

    def _reload_if_changed(self, *, locked: bool) -> None:
        """Readers trust the signature; writers (``locked``) compare the content itself, so that not
        even a reused inode within one clock tick can make a write drop another process's tokens."""
        if not locked and self._persistence.signature() == self._signature:
            return
        try:
            text, signature = self._persistence.load()
        except FileNotFoundError:
            with self._lock:
                self._cache, self._signature, self._text = {}, None, None
            return
        except CacheError:  # not ours to read (a link, a FIFO, another owner's file): never moved, never used
            raise
        except Exception as exc:  # noqa: BLE001 - unreadable or undecryptable: same remedy as corrupt
            self._recover(f"{type(exc).__name__}: {exc}", locked=locked)
            return
        if text == self._text:
            self._signature = signature
            return
        data = parse_cache(text)
        if data is None:
            self._recover("not a valid token cache", locked=locked)
            return
        with self._lock:
            self._cache, self._signature, self._text = data, signature, text
            self.has_state_changed = False

    def _recover(self, why: str, *, locked: bool) -> None:
        if not locked:  # look again under the lock: a writer may have just fixed it
            with self._lock, self._writers_lock():
                self._reload_if_changed(locked=True)
            return
        moved = self._persistence.move_aside()
        warn_once(
            f"corrupt:{self._persistence.path}",
            f"netkit-msal: the token cache {self._persistence.path} could not be read ({why[:200]}); "
            + (f"moved it to {moved} and " if moved else "")
            + "starting with an empty cache (sign in again)",
        )
        with self._lock:
            self._cache, self._signature, self._text = {}, None, None

    def _save(self) -> None:
        text = self.serialize()
        try:
            self._signature, self._text = self._persistence.save(text), text
        except Exception as exc:  # noqa: BLE001 - keep the script running on the in-memory tokens
            warn_once(
                f"save:{self._persistence.path}",
                f"netkit-msal: could not write the token cache {self._persistence.path} "
                f"({type(exc).__name__}: {exc}); tokens are kept in memory for this run",
            )

    def search(self, credential_type: str, target: Any = None, query: Any = None, *, now: Any = None) -> Iterator[dict]:
        with self._lock:
            if not self._batching:
                self._reload_if_changed(locked=False)
            yield from super().search(credential_type, target=target, query=query, now=now)

    def add(self, event: dict, **kwargs: Any) -> None:
        """One token response: several entries, one lock, one write."""
        with self._lock, self._writers_lock():
            self._reload_if_changed(locked=True)
            self._batching = True
            try:
                super().add(event, **kwargs)
            finally:
                self._batching = False
            self._save()

    def modify(self, credential_type: str, old_entry: dict, new_key_value_pairs: Optional[dict] = None) -> None:
        with self._lock:  # only the thread inside add() holds it while batching
            if self._batching:
                super().modify(credential_type, old_entry, new_key_value_pairs)
                return
            with self._writers_lock():
                self._reload_if_changed(locked=True)
                super().modify(credential_type, old_entry, new_key_value_pairs)
                self._save()


class _HttpFile:
    """The HTTP cache's file: read whole, replaced atomically under the writers' lock."""

    def __init__(self, path: str, *, lock_path: str) -> None:
        self.where = path
        self._writers = _ProcessLock(lock_path, purpose="write the HTTP cache")
        self._swept = False

    def read(self) -> Optional[bytes]:
        """The file's bytes; a file we do not own, a link or a FIFO raises CacheError (the cache ignores it)."""
        try:
            with open_private(self.where, "the HTTP cache") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def locked(self) -> AbstractContextManager[None]:
        return self._writers.hold(WRITE_LOCK_TIMEOUT)

    def write(self, data: bytes) -> None:
        if not self._swept:
            _sweep_temp_files(self.where)
            self._swept = True
        _atomic_write(self.where, data)

