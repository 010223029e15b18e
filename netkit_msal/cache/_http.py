"""MSAL's ``http_cache`` persisted through a backend, so a new process makes no discovery request.

Its own module because two stores (the file and Redis) persist it through different backends; it holds
no file or network code, only what to keep (discovery documents, the server's back-off) and its JSON form.
"""

from __future__ import annotations

import heapq
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Optional, Protocol
from urllib.parse import urlsplit

from msal.exceptions import MsalServiceError

from .._net import parse_retry_after

log = logging.getLogger("netkit_msal.cache")

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

    def locked(self) -> AbstractContextManager[None]: ...

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

    def __init__(self, backend: _HttpBackend) -> None:
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
            return _parse_http_doc(raw, self._backend.where) if raw is not None else {}
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
    seconds = parse_retry_after(text, now=created_at)
    return None if seconds is None else created_at + int(seconds)


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


#: Discovery fields whose URL receives a secret (client secret, code, refresh token) or names where they go.
_SECRET_ENDPOINTS = ("token_endpoint", "authorization_endpoint", "device_authorization_endpoint",
                     "tenant_discovery_endpoint")


def _endpoints_stay_home(key: str, text: str) -> bool:
    """Whether a stored discovery answer sends secrets only to the origin it was fetched from.

    A stored document is data anyone with write access to the store could have written: an entry for
    ``GET https://login.../openid-configuration`` whose ``token_endpoint`` names another host would send the
    client secret there. MSAL itself fetched such documents from the authority, whose endpoints share its origin.
    """
    if not key.startswith("GET ") or not key.endswith(_DISCOVERY_SUFFIX):
        return True
    origin = _origin(key.split(" ", 2)[1])
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    return all(_origin(doc[name]) == origin for name in _SECRET_ENDPOINTS if name in doc)


def _origin(url: Any) -> Optional[tuple[str, str, Optional[int]]]:
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _parse_http_doc(raw: bytes, where: str = "the HTTP cache") -> dict[str, Any]:
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
        if not _endpoints_stay_home(key, response.text):
            log.warning("netkit-msal: ignoring a cached discovery document in %s whose endpoints point to another "
                        "host than the one it came from", where)
            continue
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
