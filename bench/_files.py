"""A big file up to OneDrive and back, ``Office365.drive`` against msgraph-sdk (comparison ``files``).

Both sides upload the same file to their own name in each run.

The emulator runs in msgraph-core-compatible mode for this row (see ``bench._emulator``): upload sessions
answer ``nextExpectedRanges`` as "start-end" and accept fragments that are not multiples of 320 KiB, because
``LargeFileUploadTask`` fails on Graph's "start-" form and sends one byte more than its chunk size after the
first chunk. Ours follows both forms and always sends 320 KiB multiples.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _peers
from ._measure import Contestant, Row, alternate, peak_mb, profile, reset_peak, rss_mb

if TYPE_CHECKING:
    from ._rows import Context

CHUNK = 10 * 1024 * 1024
#: Largest peak resident memory growth allowed during one transfer: "bounded by one chunk" (the chunk in hand, its
#: copy on the way to the socket, and TLS and allocator slack), whatever the file's size.
MEMORY_LIMIT_MB = 3 * CHUNK / 1e6


def _measured(action: Callable[[], int], check: Callable[[int], None], memory: list[float]) -> Contestant:
    """A contestant timing ``action()`` that also notes the peak resident memory growth during it (MB)."""
    def run() -> float:
        reset_peak()
        before = rss_mb()
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
        memory.append(max(0.0, peak_mb() - before))
        check(result)
        return elapsed
    return run


class _Sides:
    def __init__(self, ctx: Context, size: int) -> None:
        from netkit_msal import OAuth2Provider, Office365

        emu = ctx.emu
        self.size = size
        self.source = ctx.work / "file-source.bin"
        block = os.urandom(1024 * 1024)
        with open(self.source, "wb") as handle:
            for index in range(size // len(block)):
                handle.write(bytes([index % 256]) + block[1:])
            handle.write(block[: size % len(block)])
        self.back = ctx.work / "file-back.bin"
        self.provider = OAuth2Provider(emu.params("service", cache=False))
        self.office = Office365(self.provider, {"userId": emu.upn})
        self.loop = asyncio.new_event_loop()
        self.credential = _peers.azure_secret_credential(emu, aio=True)
        self.client = _peers.graph_sdk_client(emu, self.credential)
        self.drive_id = self.loop.run_until_complete(self.client.users.by_user_id(emu.upn).drive.get()).id
        self.ours_id = self.sdk_id = ""

    def close(self) -> None:
        self.office.close()
        self.provider.close()
        self.loop.run_until_complete(self.credential.close())
        self.loop.close()
        for path in (self.source, self.back):
            path.unlink(missing_ok=True)

    def ours_upload(self) -> int:
        status = self.office.drive.upload_file(self.source, "/bench/ours.bin", {"conflictBehavior": "replace"})
        if not status.success or not status.verified:
            raise RuntimeError(f"Office365.drive.upload_file: {status.statusText}")
        self.ours_id = status.id
        return status.item["size"]

    def ours_download(self) -> int:
        self.office.drive.get_file(self.ours_id, self.back)
        return os.path.getsize(self.back)

    def sdk_upload(self) -> int:
        from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (  # noqa: E501
            CreateUploadSessionPostRequestBody,
        )
        from msgraph.generated.models.drive_item import DriveItem
        from msgraph.generated.models.drive_item_uploadable_properties import (
            DriveItemUploadableProperties,
        )
        from msgraph_core.tasks.large_file_upload import LargeFileUploadTask

        async def run() -> Any:
            body = CreateUploadSessionPostRequestBody(item=DriveItemUploadableProperties(
                additional_data={"@microsoft.graph.conflictBehavior": "replace"}))
            item = self.client.drives.by_drive_id(self.drive_id).items.by_drive_item_id("root:/bench/sdk.bin:")
            session = await item.create_upload_session.post(body)
            with open(self.source, "rb") as stream:
                task = LargeFileUploadTask(session, self.client.request_adapter, stream, DriveItem,
                                           max_chunk_size=CHUNK)
                return (await task.upload()).item_response
        uploaded = self.loop.run_until_complete(run())
        self.sdk_id = uploaded.id
        return uploaded.size

    def sdk_download(self) -> int:
        async def run() -> bytes:
            return await self.client.drives.by_drive_id(self.drive_id).items.by_drive_item_id(self.sdk_id).content.get()
        data = self.loop.run_until_complete(run())
        self.back.write_bytes(data)
        return os.path.getsize(self.back)


def files(ctx: Context) -> list[Row]:
    """A 100 MB file (on disk) up to the first user's OneDrive and back to disk, and the memory each side needs.

    Ours: `Office365.drive.upload_file(path, ...)` (10 MiB chunks read from disk, quickXorHash computed and
    checked) and `get_file(id, path)` (streamed to disk, hash checked). msgraph-sdk, as its documentation shows:
    `createUploadSession` + msgraph-core's `LargeFileUploadTask` over the open file (10 MiB chunks), and
    `items/{id}/content.get()` (kiota follows the 302 and returns the bytes, written to a file here). Memory: the
    peak resident memory growth of this process during each transfer (`VmHWM` reset before it). The emulator
    answers upload sessions the way `LargeFileUploadTask` can follow ("start-end" ranges, fragments not multiples
    of 320 KiB accepted): see `bench/_files.py`. Both uploads wait on the same server: the emulator hashes and
    writes each 10 MiB chunk before it answers, and a client may send the next chunk only after that answer, so
    most of either side's time is that wait (a profile of ours, added when the target is missed, shows it as the
    socket's `read`); the figures compare what each client adds to it.
    """
    s = ctx.settings
    size = s.file_mb * 1000 * 1000
    sides = _Sides(ctx, size)

    def check(what: str) -> Callable[[int], None]:
        def verify(result: int) -> None:
            if result != size:
                raise RuntimeError(f"{what}: {result} bytes, expected {size}")
        return verify
    memory: dict[str, list[float]] = {key: [] for key in ("ours up", "sdk up", "ours down", "sdk down")}
    rows: list[Row] = []
    try:
        up = alternate({"ours": _measured(sides.ours_upload, check("ours upload"), memory["ours up"]),
                        "sdk": _measured(sides.sdk_upload, check("msgraph-sdk upload"), memory["sdk up"])},
                       runs=s.file_runs, warmup=1)
        down = alternate({"ours": _measured(sides.ours_download, check("ours download"), memory["ours down"]),
                          "sdk": _measured(sides.sdk_download, check("msgraph-sdk download"), memory["sdk down"])},
                         runs=s.file_runs, warmup=1)
        rows = _file_rows(s.file_mb, up, down, memory)
        for row, action in zip(rows, (sides.ours_upload, None, sides.ours_download, None)):
            if not row.met and action is not None:  # where our time goes
                row.notes.append(profile(action, own_time=True))
    finally:
        sides.close()
    return rows


def _file_rows(file_mb: int, up: dict[str, list[float]], down: dict[str, list[float]],
               memory: dict[str, list[float]]) -> list[Row]:
    mb = f"{file_mb} MB"
    bound = f"≤ {MEMORY_LIMIT_MB:.1f} MB (3 × the 10 MiB chunk)"
    return [
        Row.timed(f"upload a {mb} file (`drive.upload_file`)", "msgraph-core `LargeFileUploadTask`", "≤ 1.0×", 1.0,
                  up["ours"], up["sdk"], notes=["10 MiB chunks on both sides; ours also computes and checks "
                                                "quickXorHash"]),
        Row.counted(f"upload a {mb} file: peak memory growth", "msgraph-core `LargeFileUploadTask`", bound,
                    MEMORY_LIMIT_MB, memory["ours up"], memory["sdk up"], unit="MB"),
        Row.timed(f"download a {mb} file to disk (`drive.get_file`)", "msgraph-sdk `content.get()`", "≤ 1.0×", 1.0,
                  down["ours"], down["sdk"], notes=["ours streams to the file and checks quickXorHash; the SDK "
                                                    "returns the whole file as bytes"]),
        Row.counted(f"download a {mb} file: peak memory growth", "msgraph-sdk `content.get()`", bound,
                    MEMORY_LIMIT_MB, memory["ours down"], memory["sdk down"], unit="MB"),
    ]
