"""Where MSAL's token cache and HTTP cache live: memory, a file shared by processes, or Redis.

``validate_cache_param`` turns the ``cache`` parameter into ``CacheSettings``; ``open_store`` turns
settings into a ``TokenStore`` the provider hands to MSAL. A store is the one seam between MSAL and
storage: the Redis store for several machines (``_cache_redis``) is another ``TokenStore``.

Why not msal-extensions' ``PersistedTokenCache`` as is: its ``FilePersistence`` rewrites the file in
place (a process killed mid-write leaves a truncated cache), it decides to reload by comparing the
file's coarse mtime with ``time.time()`` (two writes within one kernel clock tick can go unseen and
the next write then drops the other process's tokens), it writes once per entry of a token response,
and its lock file, left behind by a killed process, makes everyone wait five seconds. We keep its
encryption back ends and do the file part ourselves: atomic replace, reload on a change of
(inode, mtime_ns, size), one write per token response, kernel locks that die with their holder.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import heapq
import json
import logging
import os
import secrets
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Optional, Protocol, Union
from urllib.parse import urlsplit, urlunsplit

import msal
from msal.exceptions import MsalServiceError

from ._config import suggest_key
from ._exceptions import CacheError, ConfigError

log = logging.getLogger("netkit_msal.cache")

ENV_CACHE_DIR = "NETKIT_MSAL_CACHE_DIR"
_APP_DIR = "netkit-msal"
_FILE_KEYS = ("path", "allowUnencrypted")
_REDIS_KEYS = ("redis", "prefix", "encryptionKey")
_WRITE_LOCK_TIMEOUT = 10.0
_Signature = tuple  # (st_ino, st_mtime_ns, st_size) of the file as read or written


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CacheSettings:
    """The validated ``cache`` parameter.

    ``kind`` is "memory", "file" or "redis". For "file", ``path`` is the token cache file (None:
    ``<default folder>/<name>.bin``) and ``allow_unencrypted`` says whether a plaintext owner-only
    file is acceptable where the platform offers no encryption. For "redis": ``redis_url``,
    ``prefix`` of every key, and ``encryption_key`` (never shown by repr).
    """

    kind: str = "file"
    path: Optional[str] = None
    allow_unencrypted: bool = False
    redis_url: Optional[str] = None
    prefix: str = "netkit-msal"
    encryption_key: Optional[str] = field(default=None, repr=False)


_MIN_KEY_LENGTH = 32


def validate_cache_param(value: Any) -> CacheSettings:
    """Check the 4D-style ``cache`` parameter (None, True, False or a dict) and return settings.

    Raises ConfigError naming ``cache`` or ``cache.<key>``.
    """
    if isinstance(value, CacheSettings):
        return value
    if value is None or value is True:
        return CacheSettings()
    if value is False:
        return CacheSettings(kind="memory")
    if not isinstance(value, dict):
        raise ConfigError(
            "cache must be false (memory only), omitted (per-user persistent cache) or an object "
            f'such as {{"path": "...", "allowUnencrypted": true}}, not {type(value).__name__}',
            key="cache",
            code=10,
        )
    for key in value:
        if not isinstance(key, str) or key not in _FILE_KEYS + _REDIS_KEYS:
            suggestion = suggest_key(str(key), _FILE_KEYS + _REDIS_KEYS)
            hint = f' (did you mean "{suggestion}"?)' if suggestion else ""
            raise ConfigError(
                f'cache.{key} is not a known key{hint}; known keys: {", ".join(_FILE_KEYS + _REDIS_KEYS)}',
                key=f"cache.{key}",
                suggestion=suggestion,
            )
    if any(key in value for key in _REDIS_KEYS):
        return _redis_settings(value)
    path = value.get("path")
    if path is not None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        _require_text(path, "cache.path", "a file path")
        path = os.path.abspath(os.path.expandvars(os.path.expanduser(path)))
    allow = value.get("allowUnencrypted", False)
    if not isinstance(allow, bool):
        raise ConfigError(
            f"cache.allowUnencrypted must be true or false, not {type(allow).__name__}",
            key="cache.allowUnencrypted",
            code=10,
        )
    return CacheSettings(kind="file", path=path, allow_unencrypted=allow)


def _redis_settings(value: dict[str, Any]) -> CacheSettings:
    for key in _FILE_KEYS:
        if key in value:
            raise ConfigError(
                f"cache.{key} is for a file cache and cannot be combined with cache.redis", key=f"cache.{key}"
            )
    if "redis" not in value:
        raise ConfigError("cache.redis (a redis:// URL) is required with prefix/encryptionKey", key="cache.redis", code=2)
    url = value["redis"]
    _require_text(url, "cache.redis", "a URL such as redis://host:6379/0")
    if urlsplit(url).scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"cache.redis must be a redis://, rediss:// or unix:// URL, not {redacted_url(url)!r}", key="cache.redis"
        )
    prefix = value.get("prefix", "netkit-msal")
    _require_text(prefix, "cache.prefix", "a key prefix")
    key = value.get("encryptionKey")
    if key is None:
        raise ConfigError(
            "cache.encryptionKey is required with cache.redis: a shared Redis is not a private disk. Make one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"` and give every worker the same',
            key="cache.encryptionKey",
            code=2,
        )
    _require_text(key, "cache.encryptionKey", "a secret text")
    if len(key) < _MIN_KEY_LENGTH:
        raise ConfigError(
            f"cache.encryptionKey is too short: use at least {_MIN_KEY_LENGTH} random characters "
            '(`python -c "import secrets; print(secrets.token_urlsafe(32))"`)',
            key="cache.encryptionKey",
        )
    try:
        import redis  # noqa: F401 - an optional extra: say so at configuration time
    except ImportError:
        raise ConfigError(
            "cache.redis needs the redis package: pip install 'netkit-msal[redis]'", key="cache.redis"
        ) from None
    return CacheSettings(kind="redis", redis_url=url, prefix=prefix, encryption_key=key)


def _require_text(value: Any, key: str, what: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a text ({what}), not {type(value).__name__}", key=key, code=10)
    if not value.strip():
        raise ConfigError(f"{key} is empty", key=key, code=9)


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + netloc, parts.path, parts.query, parts.fragment))


def default_cache_dir() -> str:
    """The per-user cache folder: $NETKIT_MSAL_CACHE_DIR, else the platform's cache location."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return os.path.abspath(os.path.expanduser(override))
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, _APP_DIR)


# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------
class TokenStore:
    """What the provider hands to MSAL: ``token_cache`` and ``http_cache``, plus a refresh lock.

    ``persistent`` and ``encrypted`` say how tokens are kept; ``location`` is the token cache file
    (None in memory); ``description`` is one human line for logs and the CLI (no secrets).
    """

    def __init__(
        self,
        token_cache: msal.SerializableTokenCache,
        http_cache: MutableMapping[str, Any],
        *,
        description: str,
        location: Optional[str] = None,
        encrypted: bool = False,
        refresh_lock_path: Optional[str] = None,
    ) -> None:
        self.token_cache = token_cache
        self.http_cache = http_cache
        self.description = description
        self.location = location
        self.persistent = location is not None
        self.encrypted = encrypted
        self._refresh_lock = _ProcessLock(refresh_lock_path, purpose="refresh a token")

    def save_http_cache(self) -> None:
        """Write pending HTTP cache entries (discovery documents) to disk; never raises."""
        if isinstance(self.http_cache, _PersistentHttpCache):
            self.http_cache.save()

    def refresh_lock(self, timeout: float = 30.0) -> ContextManager[None]:
        """Hold this while refreshing, so that one process refreshes and the others reuse its result.

        Threads and processes (file stores) exclude each other. Waits at most ``timeout`` seconds,
        then raises CacheError. Not re-entrant. Costs a few µs when free.
        """
        return self._refresh_lock.hold(timeout)

    def __repr__(self) -> str:
        return f"<TokenStore {self.description}>"


def open_store(settings: CacheSettings, *, name: str) -> TokenStore:
    """Open the store the settings describe. ``name`` is the file name (no extension) in the default folder.

    A Redis store connects on first use; its errors are CacheErrors then.

    Never fails for want of encryption: falls back to plaintext (if allowed) or memory, with one warning.
    """
    if settings.kind == "memory":
        return _memory_store("in memory (not persisted)")
    if settings.kind == "redis":
        from ._cache_redis import open_redis_store

        return open_redis_store(settings, name=name)
    if settings.kind != "file":
        raise ConfigError(f"cache: unsupported cache kind {settings.kind!r}", key="cache")
    path = settings.path or os.path.join(default_cache_dir(), f"{_safe_name(name)}.bin")
    if os.path.isdir(path):
        path = os.path.join(path, f"{_safe_name(name)}.bin")
    folder = os.path.dirname(path)
    try:
        _make_private_dir(folder)
    except OSError as exc:
        why = f"cannot create the folder {folder}: {exc.strerror or exc}"
        _warn_once(path, f"netkit-msal: {why}; tokens are kept in memory only for this run.")
        return _memory_store(f"in memory: {why}")
    persistence, reason = _encrypted_persistence(path)
    if persistence is None:
        if not settings.allow_unencrypted:
            _warn_once(
                path,
                f"netkit-msal: no encrypted storage available for the token cache ({reason}); tokens are kept "
                'in memory only and this program will sign in again next time. Choose: "cache": '
                '{"allowUnencrypted": true} for a plaintext file readable only by you, or "cache": false '
                "to silence this warning.",
            )
            return _memory_store(f"in memory: encryption unavailable ({reason}) and allowUnencrypted is false")
        persistence = _AtomicFile(path)
    kind = f"encrypted ({persistence.scheme})" if persistence.encrypted else "plaintext, owner-only"
    token_cache = _SharedTokenCache(persistence, lock_path=path + ".lock")
    http_cache = _PersistentHttpCache(_HttpFile(path + ".http.json", lock_path=path + ".lock"))
    return TokenStore(
        token_cache,
        http_cache,
        description=f"file {path} ({kind})",
        location=path,
        encrypted=persistence.encrypted,
        refresh_lock_path=path + ".refresh.lock",
    )


def _memory_store(description: str) -> TokenStore:
    return TokenStore(msal.SerializableTokenCache(), {}, description=description)


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return cleaned or "token_cache"


def _make_private_dir(folder: str) -> None:
    """Create ``folder`` owner-only if missing; an existing folder is left as its owner set it."""
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.name == "posix":
            os.chmod(folder, 0o700)  # whatever the umask


_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key in _warned:
        return
    _warned.add(key)
    log.warning("%s", message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


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
        with open(self.path, "rb") as handle:
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
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
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
# Cross-process lock
# --------------------------------------------------------------------------------------------
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

    def hold(self, timeout: float) -> "_Holding":
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


if os.name == "nt":  # pragma: no cover - exercised on Windows only
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
        return self._writers.hold(_WRITE_LOCK_TIMEOUT)

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
        except Exception as exc:  # noqa: BLE001 - unreadable or undecryptable: same remedy as corrupt
            self._recover(f"{type(exc).__name__}: {exc}", locked=locked)
            return
        if text == self._text:
            self._signature = signature
            return
        data = _parse_cache(text)
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
        _warn_once(
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
            _warn_once(
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


def _parse_cache(text: str) -> Optional[dict]:
    """The cache's JSON if it has MSAL's shape ({type: {key: entry}}), else None."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for entries in data.values():
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            return None
    return data


# --------------------------------------------------------------------------------------------
# HTTP cache
# --------------------------------------------------------------------------------------------
_INDEX = "_index_"  # msal.individual_cache._ExpiringMapping keeps (heap, {key: [expires_at, created_at]}) here
_DISCOVERY_SUFFIX = " 2xx"  # MSAL's key of a cached GET (discovery documents)
_THROTTLE_SUFFIX = " 429/5xx/Retry-After"  # MSAL's key of a throttled POST
_HTTP_FORMAT = 1


class _CachedResponse:
    """The shape of MSAL's ``NormalizedResponse``: what its throttling cache stores and reads back."""

    def __init__(self, status_code: int, text: str, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.text = text
        self.headers = headers

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise MsalServiceError(
                f"HTTP Error: {self.status_code}", error=None, error_description=None
            )


class _HttpBackend(Protocol):
    """Where a persisted HTTP cache lives: ``read`` the stored bytes (None: nothing yet), ``write`` them
    (inside ``locked()``, so that concurrent writers merge rather than overwrite)."""

    where: str

    def read(self) -> Optional[bytes]: ...

    def locked(self) -> ContextManager[None]: ...

    def write(self, data: bytes) -> None: ...


class _PersistentHttpCache(MutableMapping):
    """MSAL's ``http_cache``, persisted through a backend (a JSON file beside the token cache, or Redis).

    MSAL stores, under string keys, response objects (status, text, headers) plus an index of expiry
    times. Persisted: successful GETs (the OpenID discovery document, 24 h) and the server's back-off
    (see ``_persist_until``), so a new process constructs its MSAL app with no request and honours
    it. Not persisted: MSAL's own guesses (60 s after a 5xx without Retry-After, the 60 s "same request
    got HTTP 400" replay cache), which would carry one run's transient error into every new process.
    JSON, not pickle: the stored form is data, never code. Loaded on first use; a damaged or
    unreachable store only costs a request.
    """

    def __init__(self, backend: "_HttpBackend") -> None:
        self._backend = backend
        self._data: dict[str, Any] = {}
        self._loaded = False
        self._dirty = False
        self._mutex = threading.RLock()  # several MSAL apps (each with its own lock) may share this mapping

    def _load(self) -> None:
        with self._mutex:
            if not self._loaded:
                self._data = {**self._read(), **self._data}
                self._loaded = True

    def _read(self) -> dict[str, Any]:
        try:
            raw = self._backend.read()
            return _parse_http_doc(raw) if raw is not None else {}
        except Exception as exc:  # noqa: BLE001 - a damaged cache only costs a request
            log.warning("netkit-msal: ignoring unreadable HTTP cache %s (%s)", self._backend.where, exc)
            return {}

    def __getitem__(self, key: str) -> Any:
        if not self._loaded:
            self._load()
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        with self._mutex:
            if not self._loaded:
                self._load()
            self._data[key] = value
            if key == _INDEX:
                if self._dirty:
                    self.save()  # MSAL writes the index last: the new entry is complete now
            elif _persist_until(key, value, expires_at=sys.maxsize, created_at=int(time.time())) is not None:
                self._dirty = True

    def __delitem__(self, key: str) -> None:
        with self._mutex:
            if not self._loaded:
                self._load()
            del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(self._data)

    def __len__(self) -> int:
        self._load()
        return len(self._data)

    def save(self) -> None:
        """Merge with what other processes wrote, and write it back; warn, never raise."""
        with self._mutex:
            if self._dirty:
                self._write()

    def _write(self) -> None:
        try:
            with self._backend.locked():
                values = self._read()
                _, timestamps = values.pop(_INDEX, ([], {}))
                values.update(self._data)
                timestamps = {**timestamps, **values.pop(_INDEX, ([], {}))[1]}
                entries = _entries_to_json(values, timestamps)
                self._backend.write(json.dumps({"format": _HTTP_FORMAT, "entries": entries}).encode())
            self._dirty = False
        except Exception as exc:  # noqa: BLE001 - a cache miss next run is the only cost
            log.warning("netkit-msal: could not write the HTTP cache %s (%s)", self._backend.where, exc)


class _HttpFile:
    """The HTTP cache's file: read whole, replaced atomically under the writers' lock."""

    def __init__(self, path: str, *, lock_path: str) -> None:
        self.where = path
        self._writers = _ProcessLock(lock_path, purpose="write the HTTP cache")
        self._swept = False

    def read(self) -> Optional[bytes]:
        try:
            with open(self.where, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def locked(self) -> ContextManager[None]:
        return self._writers.hold(_WRITE_LOCK_TIMEOUT)

    def write(self, data: bytes) -> None:
        if not self._swept:
            _sweep_temp_files(self.where)
            self._swept = True
        _atomic_write(self.where, data)


def _persist_until(key: Any, value: Any, *, expires_at: int, created_at: int) -> Optional[int]:
    """Until when (epoch seconds) an HTTP cache entry that MSAL keeps until ``expires_at`` may be
    persisted for other processes; None: it stays in this process.

    A successful discovery GET: as long as MSAL keeps it. A throttled POST: only when the server asked
    for it (Retry-After, and never beyond it; or a 429, MSAL's bounded default for "too many requests").
    A 5xx without Retry-After is one process's view of a transient outage: MSAL's 60 s default must
    not make every new process fail at once with no request.
    """
    status = getattr(value, "status_code", None)
    if not (isinstance(key, str) and isinstance(status, int) and isinstance(getattr(value, "text", None), str)):
        return None
    if key.endswith(_DISCOVERY_SUFFIX):
        return expires_at if 200 <= status < 300 else None
    if not key.endswith(_THROTTLE_SUFFIX):
        return None
    deadline = _retry_after_deadline(getattr(value, "headers", None), created_at)
    if deadline is None:
        return expires_at if status == 429 else None
    until = min(expires_at, deadline)
    return until if until > created_at else None


def _retry_after_deadline(headers: Any, created_at: int) -> Optional[int]:
    """When the response's Retry-After (delay seconds or HTTP date) ends; None without a usable one."""
    if not isinstance(headers, Mapping):
        return None
    text = next((str(v).strip() for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if not text:
        return None
    if text.isdigit():
        return created_at + int(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return int(when.timestamp()) if when.tzinfo is not None else None


def _entries_to_json(mapping: dict[str, Any], timestamps: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {}
    for key, stamp in timestamps.items():
        created_at = int(stamp[1])
        until = _persist_until(key, mapping.get(key), expires_at=int(stamp[0]), created_at=created_at)
        if until is not None and created_at <= now < until:
            value = mapping[key]
            out[key] = {
                "expires_at": until,
                "created_at": created_at,
                "status_code": value.status_code,
                "text": value.text,
                "headers": {str(k): str(v) for k, v in dict(getattr(value, "headers", {}) or {}).items()},
            }
    return out


def _parse_http_doc(raw: bytes) -> dict[str, Any]:
    """A stored HTTP cache's live entries in MSAL's mapping shape (entries + index)."""
    doc = json.loads(raw)
    entries = doc["entries"] if doc.get("format") == _HTTP_FORMAT else {}
    now = int(time.time())
    data: dict[str, Any] = {}
    sequence: list[list[Any]] = []
    timestamps: dict[str, list[int]] = {}
    for key, entry in entries.items():
        created_at = int(entry["created_at"])
        response = _CachedResponse(int(entry["status_code"]), str(entry["text"]), dict(entry["headers"]))
        # the same rule as on writing: a file written by an older version may hold MSAL's own guesses
        expires_at = _persist_until(key, response, expires_at=int(entry["expires_at"]), created_at=created_at)
        if expires_at is None or not created_at <= now < expires_at:
            continue
        data[key] = response
        sequence.append([expires_at, created_at, key])
        timestamps[key] = [expires_at, created_at]
    if data:
        heapq.heapify(sequence)
        data[_INDEX] = (sequence, timestamps)
    return data
