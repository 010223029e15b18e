"""Mail through Graph: many messages by id, listing a folder, and the memory of walking a very big one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _peers
from ._measure import Row, alternate, profile, timed

if TYPE_CHECKING:
    from ._rows import Context

#: Concurrent requests on every side of the by-id row: ours is ``Office365``'s default transport (4 threads).
CONCURRENCY = 4
BATCH = 20  # Graph's $batch limit


class _GraphSides:
    """Ours (Office365 over an app-only provider) and the peers, built and warmed once."""

    def __init__(self, ctx: Context) -> None:
        from netkit_msal import OAuth2Provider, Office365

        emu = ctx.emu
        self.upn = emu.upn
        self.page = ctx.settings.page_size
        self.provider = OAuth2Provider(emu.params("service", cache=False))
        self.office = Office365(self.provider, {"userId": emu.upn})
        self.loop = asyncio.new_event_loop()
        self.credential = _peers.azure_secret_credential(emu, aio=True)
        self.client = _peers.graph_sdk_client(emu, self.credential)

    def close(self) -> None:
        self.office.close()
        self.provider.close()
        self.loop.run_until_complete(self.credential.close())
        self.loop.close()

    # listing (id, subject) of every message in the seeded folder, page_size a page
    def ours_list(self) -> list[tuple[str, str]]:
        mails = self.office.mail.get_mails({"folderId": "archive", "select": "id,subject", "top": self.page})
        return [(mail["id"], mail["subject"]) for mail in mails]

    def sdk_list(self) -> list[tuple[str, str]]:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
            MessagesRequestBuilder,
        )
        from msgraph_core.tasks.page_iterator import PageIterator

        async def walk() -> list[tuple[str, str]]:
            query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=self.page,
                                                                                   select=["id", "subject"])
            messages = self.client.users.by_user_id(self.upn).mail_folders.by_mail_folder_id("archive").messages
            first = await messages.get(request_configuration=RequestConfiguration(query_parameters=query))
            out: list[tuple[str, str]] = []

            def keep(message: Any) -> bool:
                out.append((message.id, message.subject))
                return True
            await PageIterator(first, self.client.request_adapter).iterate(keep)
            return out
        return self.loop.run_until_complete(walk())

    # many messages by id
    def ours_by_id(self, ids: list[str]) -> list[Any]:
        return self.office.mail.get_mails_by_id(ids)

    def sdk_gather(self, ids: list[str]) -> list[Any]:
        """msgraph-sdk's async calls run together by ``asyncio.gather``, ``CONCURRENCY`` at a time."""
        async def all_of_them() -> list[Any]:
            gate = asyncio.Semaphore(CONCURRENCY)
            messages = self.client.users.by_user_id(self.upn).messages

            async def one(mail_id: str) -> Any:
                async with gate:
                    return await messages.by_message_id(mail_id).get()
            return list(await asyncio.gather(*(one(mail_id) for mail_id in ids)))
        return self.loop.run_until_complete(all_of_them())

    def sdk_batch(self, ids: list[str]) -> list[Any]:
        """msgraph-core's ``BatchRequestContent`` (20 requests a batch), ``CONCURRENCY`` batches at a time, each
        answer read as a ``Message``.

        The documented read-back (``client.batch.post`` then ``get_response_by_id(id, Message)``) cannot work
        with the installed versions: ``BatchResponseItem`` reads each body with ``get_bytes_value()``, which
        drops JSON object bodies (microsoft/kiota-python#737), so every message comes back empty or raises. The
        batch is therefore built and sent as documented (``client.batch.to_post_request_information`` over the
        request adapter) and each answer's body is read into a ``Message`` by kiota's JSON parse node, which is
        what ``get_response_by_id`` does once it has the body.
        """
        from kiota_serialization_json.json_parse_node import JsonParseNode
        from msgraph.generated.models.message import Message
        from msgraph_core.requests.batch_request_content import BatchRequestContent
        from msgraph_core.requests.batch_request_item import BatchRequestItem

        async def all_of_them() -> list[Any]:
            gate = asyncio.Semaphore(CONCURRENCY)
            messages = self.client.users.by_user_id(self.upn).messages

            async def one_batch(chunk: list[str]) -> list[Any]:
                content = BatchRequestContent()
                items = [BatchRequestItem(messages.by_message_id(mail_id).to_get_request_information())
                         for mail_id in chunk]
                for item in items:
                    content.add_request(item.id, item)
                info = await self.client.batch.to_post_request_information(content)
                async with gate:
                    raw = await self.client.request_adapter.send_primitive_async(info, "bytes", None)
                answers = {answer["id"]: answer for answer in json.loads(raw)["responses"]}
                return [JsonParseNode(answers[item.id]["body"]).get_object_value(Message)
                        if answers[item.id]["status"] == 200 else None for item in items]
            chunks = [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]
            return [message for found in await asyncio.gather(*(one_batch(chunk) for chunk in chunks))
                    for message in found]
        return self.loop.run_until_complete(all_of_them())


def _expect(count: int, what: str) -> Callable[[list[Any]], None]:
    def check(result: list[Any]) -> None:
        if len(result) != count or any(item is None for item in result):
            raise RuntimeError(f"{what}: {len(result)} results, expected {count}")
    return check


def by_id(ctx: Context) -> list[Row]:
    """Whole messages by id, in order (500 in a full run), each side at the same concurrency of 4.

    Ours: `Office365.mail.get_mails_by_id(ids)`: `$batch` requests of 20, 4 batches at a time on its transport's
    thread pool, each answer wrapped as a 4D mail object. msgraph-sdk, two ways its documentation shows: the
    async request builders (`users.by_user_id(upn).messages.by_message_id(id).get()`) run together with
    `asyncio.gather` under a semaphore of 4; and `BatchRequestContent` of 20 `BatchRequestItem`s posted with
    the batch request builder, 4 batches at a time, every answer read as a `Message` (msgraph-core's own read-back,
    `get_response_by_id`, drops JSON bodies with the installed versions, microsoft/kiota-python#737: so each
    body is parsed by kiota's `JsonParseNode`, which is what `get_response_by_id` does once it has it).
    App-only token on every side (held: no token request is timed). Target: ours at least 2× faster than the best.
    Most of msgraph-sdk's time is turning each answer into its model: a cProfile of its side puts ~12 ms per
    message in `Entity.get_field_deserializers`, which runs its ~2,400 function-level imports on every object
    (msgraph-sdk-python#584); the HTTP work is the same `$batch` requests on both sides.
    """
    s = ctx.settings
    sides = _GraphSides(ctx)
    ids = ctx.emu.message_ids[:s.by_id]
    try:
        samples = alternate({
            "ours": timed(lambda: sides.ours_by_id(ids), _expect(len(ids), "Office365 get_mails_by_id")),
            "gather": timed(lambda: sides.sdk_gather(ids), _expect(len(ids), "msgraph-sdk gather")),
            "batch": timed(lambda: sides.sdk_batch(ids), _expect(len(ids), "msgraph-sdk BatchRequestContent")),
        }, runs=s.graph_runs, warmup=1)
        rows = _by_id_rows(len(ids), samples)
        if not all(row.met for row in rows):  # where our time goes
            rows[0].notes.append(profile(lambda: sides.ours_by_id(ids), calls=2, top=10))
    finally:
        sides.close()
    return rows


def _by_id_rows(count: int, samples: dict[str, list[float]]) -> list[Row]:
    what = f"get {count} messages by id (`get_mails_by_id`)"
    return [
        Row.timed(what, f"msgraph-sdk `asyncio.gather`, {CONCURRENCY} at a time", "≤ 0.5× (≥ 2× faster)", 0.5,
                  samples["ours"], samples["gather"], notes=["whole messages on both sides, same concurrency"]),
        Row.timed(what, f"msgraph-sdk `BatchRequestContent` of {BATCH}, {CONCURRENCY} batches at a time",
                  "≤ 0.5× (≥ 2× faster)", 0.5, samples["ours"], samples["batch"],
                  notes=["the same `$batch` requests on both sides: the difference is client work"]),
    ]


def listing(ctx: Context) -> list[Row]:
    """Every message of a folder (2,000 in a full run) as (id, subject), 100 a page, `$select=id,subject`.

    Ours: `Office365.mail.get_mails(...)` iterated (the list follows `@odata.nextLink`). O365: `Folder.get_messages(
    limit=None, batch=100)` with `requests_delay=0` (its default sleeps 200 ms between calls). msgraph-sdk: the
    first page from the request builder, then msgraph-core's `PageIterator`, as its documentation shows (its
    time is mostly model building, as in `by-id`: msgraph-sdk-python#584).
    """
    s = ctx.settings
    sides = _GraphSides(ctx)
    account = _peers.o365_account(ctx.emu, ctx.emu.upn)
    folder = account.mailbox().archive_folder()

    def o365_list() -> list[tuple[str, str]]:
        query = folder.new_query().select("id", "subject")
        return [(m.object_id, m.subject) for m in folder.get_messages(limit=None, batch=s.page_size, query=query)]
    try:
        n = len(ctx.emu.message_ids)
        samples = alternate({
            "ours": timed(sides.ours_list, _expect(n, "Office365 list")),
            "o365": timed(o365_list, _expect(n, "O365 get_messages")),
            "sdk": timed(sides.sdk_list, _expect(n, "msgraph-sdk PageIterator")),
        }, runs=s.graph_runs, warmup=1)
    finally:
        sides.close()
    what = f"list {n:,} messages (id, subject) through `Office365`"
    return [
        Row.timed(what, "O365 `get_messages`", "≤ 0.5×", 0.5, samples["ours"], samples["o365"]),
        Row.timed(what, "msgraph-sdk `PageIterator`", "≤ 0.7×", 0.7, samples["ours"], samples["sdk"],
                  notes=["msgraph-sdk's time is its own model deserialization, not the network"]),
    ]


def streaming_memory(ctx: Context) -> list[Row]:
    """Resident memory while iterating a very big folder (100,000 messages in a full run) with `get_mails`.

    The messages are seeded into a second user's Archive folder inside the emulator process. A new Python process
    (`bench/_stream_child.py`) builds `Office365` (app-only), notes its resident memory once the first page is in,
    iterates every message of the list (1,000 a page, `$select=id,subject`, only a count kept), and reports its peak
    resident memory (`VmHWM`) above that level. Streaming keeps one page in memory; accumulating 100,000 messages
    would not fit the target. No peer: the target is absolute (growth under 50 MB).
    """
    s = ctx.settings
    upn = ctx.emu.other_upn
    seeded = ctx.emu.seed(upn, s.stream_messages, "archive")
    spec = {"params": ctx.emu.params("service", cache=False), "upn": upn, "top": 1000}
    done = subprocess.run([sys.executable, "-m", "bench._stream_child", json.dumps(spec)], env=ctx.env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"bench._stream_child exited {done.returncode}: {done.stderr[-800:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if found["count"] != seeded:
        raise RuntimeError(f"iterated {found['count']} messages of {seeded}")
    return [Row.absolute(f"iterate {seeded:,} messages (`get_mails`, 1,000 a page): resident memory growth",
                         "< 50 MB", 50.0, found["growth_mb"], [found["growth_mb"]], unit="MB",
                         notes=[f"{found['seconds']:.1f} s for the walk; resident memory {found['start_mb']:.1f} MB "
                                f"after the first page, peak {found['peak_mb']:.1f} MB"])]
