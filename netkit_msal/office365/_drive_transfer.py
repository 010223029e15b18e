"""Moving file content to and from a drive: one PUT or a resumable upload session; streamed downloads.

Uploads read the source once, in order, one chunk at a time (memory is bounded by one chunk), and
hash it as they go. A chunk whose answer is lost (connection dropped, timeout, 5xx, 416) is not
re-sent blindly: the upload URL is asked for ``nextExpectedRanges`` and the upload goes on from
there, from the chunk still in memory, so nothing is ever re-sent from zero. Downloads follow the
pre-authenticated URL without the bearer token and resume a dropped stream with a ``Range`` request.
Both ends compare Microsoft's QuickXorHash with the item's ``file.hashes.quickXorHash``.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any, Optional, Protocol, Union

import requests

from .._exceptions import ConfigError, GraphError
from ._quickxor import QuickXorHash
from ._transport import Transport, graph_error

#: Graph's limit for one-request uploads (``PUT .../content``); larger content needs a session.
SIMPLE_LIMIT = 4 * 1024 * 1024
#: Upload-session chunks must be multiples of 320 KiB and under 60 MiB.
CHUNK_UNIT = 320 * 1024
CHUNK_MAX = 60 * 1024 * 1024
#: 10 MiB: Microsoft suggests 5-10 MiB chunks; one is what an upload holds in memory.
DEFAULT_CHUNK = 32 * CHUNK_UNIT
#: Fruitless resumes in a row before an upload gives up (progress resets the count).
MAX_STALLS = 5
_PIECE = 1024 * 1024

Progress = Optional[Callable[[int, int], Any]]
Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]


def check_chunk_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < CHUNK_UNIT or value % CHUNK_UNIT \
            or value > CHUNK_MAX - CHUNK_UNIT:
        raise ConfigError(f"chunk_size must be a multiple of 320 KiB ({CHUNK_UNIT} bytes) under 60 MiB, "
                          f"not {value!r}", key="chunk_size")
    return value


class _Reader:
    """The upload source as (size, sequential reads); unsized streams are spooled to disk first."""

    def __init__(self, source: Any) -> None:
        self._close: Optional[IO[bytes]] = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.stream: IO[bytes] = io.BytesIO(bytes(source))
            self.size = len(source)
        elif isinstance(source, (str, os.PathLike)):
            try:
                self.stream = self._close = open(source, "rb")
            except OSError as error:
                raise ConfigError(f"source: cannot read {os.fspath(source)!r}: {error.strerror}",
                                  key="source") from None
            self.size = os.fstat(self.stream.fileno()).st_size
        elif hasattr(source, "read"):
            self.stream = source
            try:
                start = source.tell()
                self.size = source.seek(0, os.SEEK_END) - start
                source.seek(start)
            except (OSError, AttributeError, ValueError):
                spool = tempfile.TemporaryFile()
                shutil.copyfileobj(source, spool, _PIECE)
                self.size = spool.tell()
                spool.seek(0)
                self.stream = self._close = spool
        else:
            raise ConfigError("source must be bytes, a file path or a binary file object, not "
                              f"{type(source).__name__}", key="source", code=10)

    def read(self, count: int) -> bytes:
        """Exactly ``count`` bytes unless the source ends (a raw stream may return fewer a call)."""
        parts, left = [], count
        while left > 0:
            data = self.stream.read(left)
            if isinstance(data, str):
                raise ConfigError("source: the file object is open in text mode; open it with 'rb'", key="source")
            if not data:
                break
            parts.append(data)
            left -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        if self._close is not None:
            self._close.close()


def _expected_start(ranges: Any) -> Optional[int]:
    """The first missing byte from ``nextExpectedRanges`` (``["26-"]`` or ``["26-127", ...]``)."""
    if not isinstance(ranges, list) or not ranges:
        return None
    try:
        return int(str(ranges[0]).split("-", 1)[0])
    except ValueError:
        return None


def verify(item: dict[str, Any], hasher: QuickXorHash, what: str) -> bool:
    """True when the item's quickXorHash matches; GraphError ``hashMismatch`` when it does not;
    False when the drive reports no quickXorHash (nothing to compare with)."""
    expected = ((item.get("file") or {}).get("hashes") or {}).get("quickXorHash")
    if not expected:
        return False
    actual = hasher.b64digest()
    if actual != expected:
        raise GraphError(f"{what}: content hash mismatch (quickXorHash {actual}, the drive says {expected}); "
                         f"the content was corrupted on the way", error_code="hashMismatch")
    return True


def upload(transport: Transport, content_path: str, session_path: str, source: Any, behavior: Optional[str],
           progress: Progress, chunk_size: int) -> tuple[dict[str, Any], bool]:
    """Upload ``source``; (the driveItem, whether its hash was verified)."""
    reader = _Reader(source)
    try:
        hasher = QuickXorHash()
        if reader.size <= SIMPLE_LIMIT:
            data = reader.read(reader.size)
            hasher.update(data)
            params = {"@microsoft.graph.conflictBehavior": behavior} if behavior else None
            item = transport.json("PUT", content_path, params=params, data=data,
                                  headers={"Content-Type": "application/octet-stream"},
                                  idempotent=behavior != "rename")
            if progress:
                progress(reader.size, reader.size)
        else:
            item_path = session_path.rsplit("/", 1)[0]  # ".../root:/a.txt:" or ".../items/{id}"
            item = _session_upload(transport, session_path, item_path, reader, hasher, behavior, progress,
                                   chunk_size)
        return item, verify(item or {}, hasher, "upload")
    finally:
        reader.close()


class _HashAlongside:
    """Hashes each chunk on a worker thread while the chunk is on the wire: the socket's write releases the
    GIL, so the hash (a quarter of a 100 MB upload's time when done in turn) costs little. Chunks are hashed
    one at a time, in order; ``result()`` waits for the last."""

    def __init__(self, hasher: QuickXorHash) -> None:
        self._hasher = hasher
        self._pending: Optional[threading.Thread] = None

    def update(self, chunk: bytes) -> None:
        self.result()
        self._pending = threading.Thread(target=self._hasher.update, args=(chunk,), name="netkit-msal-quickxor",
                                         daemon=True)
        self._pending.start()

    def result(self) -> QuickXorHash:
        if self._pending is not None:
            self._pending.join()
            self._pending = None
        return self._hasher


def _landed(transport: Transport, item_path: str, total: int, hasher: QuickXorHash,
            progress: Progress) -> dict[str, Any]:
    """The uploaded item when its last fragment's answer was lost: it must have our size and hash."""
    item = transport.json("GET", item_path) or {}
    expected = ((item.get("file") or {}).get("hashes") or {}).get("quickXorHash")
    if item.get("size") != total or (expected and expected != hasher.b64digest()):
        raise GraphError("upload: the session ended without an answer and the item on the drive is not "
                         "this upload", error_code="uploadLost")
    if progress:
        progress(total, total)
    return item


def _session_upload(transport: Transport, session_path: str, item_path: str, reader: _Reader,
                    hasher: QuickXorHash, behavior: Optional[str], progress: Progress,
                    chunk_size: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"fileSize": reader.size}
    if behavior:
        spec["@microsoft.graph.conflictBehavior"] = behavior
    session = transport.json("POST", session_path, json_body={"item": spec}) or {}
    url = session.get("uploadUrl")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise GraphError("Graph createUploadSession: no https uploadUrl in the answer", error_code="noUploadUrl")
    total, offset, stalls = reader.size, 0, 0
    chunk, chunk_start = b"", 0
    hashing = _HashAlongside(hasher)
    if progress:
        progress(0, total)
    try:
        while True:
            if offset >= chunk_start + len(chunk):
                chunk_start, chunk = offset, reader.read(min(chunk_size, total - offset))
                if len(chunk) != min(chunk_size, total - offset):
                    raise ConfigError("source: the file changed size while it was uploaded", key="source")
                hashing.update(chunk)
            piece = chunk if offset == chunk_start else chunk[offset - chunk_start:]  # a copy only to resume
            headers = {"Content-Type": "application/octet-stream",
                       "Content-Range": f"bytes {offset}-{offset + len(piece) - 1}/{total}"}
            try:  # no bearer: the upload URL carries its own credential and refuses one
                response = transport.request("PUT", url, data=piece, headers=headers, authorize=False,
                                             idempotent=False)
            except GraphError as error:
                lost = error.status is None and error.error_code in ("connectionError", "timeout")
                if not (lost or (error.status or 0) >= 500 or error.status == 416):
                    raise
                stalls += 1
                if stalls > MAX_STALLS:
                    raise
                time.sleep(min(transport.retry.backoff * (2 ** (stalls - 1)), 5.0))
                try:
                    status = transport.json("GET", url, authorize=False) or {}
                except GraphError as gone:
                    if gone.status != 404 or offset + len(piece) != total:
                        raise
                    # the session ended: the last fragment landed but its answer was lost
                    return _landed(transport, item_path, total, hashing.result(), progress)
                resumed = _expected_start(status.get("nextExpectedRanges"))
                if resumed is None or not chunk_start <= resumed <= chunk_start + len(chunk):
                    raise GraphError(f"upload: the server expects byte {resumed}, outside the chunk in hand "
                                     f"({chunk_start}-{chunk_start + len(chunk) - 1})",
                                     error_code="resumeOutOfRange") from None
                if resumed > offset:
                    stalls = 0
                    if progress:
                        progress(resumed, total)
                offset = resumed
                continue
            if response.status_code in (200, 201):
                if progress:
                    progress(total, total)
                return response.json()
            answer = response.json() if response.content else {}
            resumed = _expected_start(answer.get("nextExpectedRanges"))
            if resumed is None or resumed <= offset:
                raise GraphError(f"upload: the server did not move on from byte {offset}",
                                 status=response.status_code, error_code="uploadStalled")
            offset, stalls = resumed, 0
            if progress:
                progress(offset, total)
    except BaseException:
        try:  # let the server drop the partial upload now rather than at expiry
            transport.request("DELETE", url, authorize=False)
        except GraphError:
            pass
        raise
    finally:
        hashing.result()  # the caller compares the item's hash with ours


class Sink(Protocol):
    """Where a download goes: a binary file or anything with ``write(bytes)``."""

    def write(self, data: bytes, /) -> object: ...


def download(transport: Transport, item: dict[str, Any], content_path: str, sink: Sink,
             progress: Progress) -> bool:
    """Stream an item's content into ``sink``; True when its hash was verified (see ``verify``)."""
    total = int(item.get("size") or 0)
    url = item.get("@microsoft.graph.downloadUrl")
    if not isinstance(url, str) or not url:
        url = _content_location(transport, content_path)
    hasher = QuickXorHash()
    done, attempt, refreshed = 0, 0, False
    if progress:
        progress(0, total)
    while True:
        headers = {"Range": f"bytes={done}-"} if done else {}
        try:  # no bearer: the download URL is pre-authenticated
            with transport.session.get(url, headers=headers, stream=True, timeout=transport.timeout,
                                       allow_redirects=True) as response:
                if response.status_code in (401, 403, 404) and not refreshed:
                    refreshed = True  # the short-lived URL expired: ask Graph for a fresh one
                    url = _content_location(transport, content_path)
                    continue
                if response.status_code not in (200, 206) or (done and response.status_code != 206):
                    raise graph_error("GET", "download URL", response.status_code, response.content,
                                      response.headers)
                for piece in response.iter_content(_PIECE):
                    sink.write(piece)
                    hasher.update(piece)
                    done += len(piece)
                    if progress:
                        progress(done, total)
        except requests.RequestException as error:
            attempt += 1
            if attempt > transport.retry.max_retries:
                raise GraphError(f"download: connection lost after {done} of {total} bytes "
                                 f"({type(error).__name__})", error_code="connectionError") from None
            time.sleep(min(transport.retry.backoff * (2 ** (attempt - 1)), 5.0))
            continue
        if done < total:
            attempt += 1
            if attempt > transport.retry.max_retries:
                raise GraphError(f"download: got {done} of {total} bytes", error_code="incompleteDownload")
            continue
        return verify(item, hasher, "download")


def _content_location(transport: Transport, content_path: str) -> str:
    """The pre-authenticated URL Graph redirects ``.../content`` to."""
    response = transport.request("GET", content_path)
    location = response.headers.get("Location")
    if response.status_code in (301, 302, 303, 307, 308) and location:
        return location
    raise GraphError(f"Graph GET {content_path}: no download redirect (HTTP {response.status_code})",
                     status=response.status_code, error_code="noDownloadUrl")
