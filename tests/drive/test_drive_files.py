"""Uploads and downloads through ``Office365.drive`` against the emulator: sizes around the 4 MB
simple-upload limit, 100 MB streamed from disk, resuming after a dropped connection or a 5xx, and
hash verification in both directions."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest

from netkit_msal._exceptions import GraphError
from netkit_msal.office365 import Drive
from netkit_msal.office365._drive_transfer import CHUNK_UNIT, SIMPLE_LIMIT

MB4 = 4 * 1024 * 1024


def _content(size: int, seed: int = 1) -> bytes:
    block = bytes((index * 31 + seed) % 251 for index in range(4093))
    return (block * (size // len(block) + 1))[:size]


@pytest.mark.parametrize("size", [0, 1, MB4, MB4 + 1], ids=["0B", "1B", "4MB", "4MB+1"])
def test_upload_then_download_verified(office, store, folder, size, tmp_path):
    data = _content(size, seed=size % 97)
    simple_before, fragments_before = store.simple_uploads, len(store.fragments)
    seen: list[tuple[int, int]] = []
    status = office.drive.upload_file(data, f"{folder}/f{size}.bin", progress=lambda d, t: seen.append((d, t)))
    assert status.success, status.statusText
    assert status.verified is True and status.item["size"] == size
    assert seen[-1] == (size, size)
    if size <= SIMPLE_LIMIT:
        assert store.simple_uploads == simple_before + 1 and len(store.fragments) == fragments_before
    else:
        assert store.simple_uploads == simple_before
        assert len(store.fragments) > fragments_before
    assert office.drive.get_file(status.id) == data
    target = tmp_path / "copy.bin"
    meta = office.drive.get_file(f"{folder}/f{size}.bin", target)
    assert meta["id"] == status.id and target.read_bytes() == data


def test_sources_path_and_file_objects(office, folder, tmp_path):
    data = _content(MB4 + CHUNK_UNIT + 5)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    assert office.drive.upload_file(str(path), f"{folder}/from-path.bin").success
    with open(path, "rb") as handle:
        assert office.drive.upload_file(handle, f"{folder}/from-file.bin").success

    class Pipe(io.RawIOBase):  # a stream that can't seek: spooled to disk for its size
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    assert office.drive.upload_file(Pipe(), f"{folder}/from-pipe.bin").success
    sink = io.BytesIO()
    office.drive.get_file(f"{folder}/from-pipe.bin", sink)
    assert sink.getvalue() == data == office.drive.get_file(f"{folder}/from-path.bin")


@pytest.mark.big
def test_100_mb_round_trip_memory_bounded(office, store, folder, tmp_path):
    size = 100 * 1000 * 1000
    source = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(source, "wb") as handle:
        for index in range(size // len(block)):
            handle.write(bytes([index % 256]) + block[1:])
        handle.write(block[: size % len(block)])
    chunk = 8 * CHUNK_UNIT  # 2.5 MiB: memory must follow the chunk, not the file
    drive = Drive(office._transport, office.drive._base, chunk_size=chunk)
    progress: list[int] = []
    tracemalloc.start()
    try:
        status = drive.upload_file(source, f"{folder}/big.bin", progress=lambda d, t: progress.append(d))
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        target = tmp_path / "back.bin"
        drive.get_file(f"{folder}/big.bin", target)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status.success and status.verified, status.statusText
    assert progress == sorted(progress) and progress[-1] == size
    # The emulator runs in this process too: both ends hold about one chunk at a time.
    assert upload_peak < 8 * chunk, upload_peak
    assert download_peak < 8 * chunk, download_peak
    assert os.path.getsize(target) == size
    with open(source, "rb") as a, open(target, "rb") as b:
        while True:
            left, right = a.read(1 << 22), b.read(1 << 22)
            assert left == right
            if not left:
                break


def _session_fragments(store, before: int) -> list[tuple[int, int]]:
    return [(first, length) for _, first, length in store.fragments[before:]]


def test_resume_after_the_answer_to_a_stored_fragment_is_lost(office, store, folder):
    data = _content(office.drive.chunk_size * 3 + 11)
    before = len(store.fragments)

    def drop_once(done: int, total: int) -> None:
        if done and store.drop_after is None and not getattr(drop_once, "armed", False):
            drop_once.armed = True  # type: ignore[attr-defined]
            store.drop_after = 1  # the next fragment is stored, then the connection is cut

    status = office.drive.upload_file(data, f"{folder}/resumed.bin", progress=drop_once)
    assert status.success and status.verified, status.statusText
    fragments = _session_fragments(store, before)
    starts = [first for first, _ in fragments]
    assert starts == sorted(set(starts)), "a fragment was sent twice"
    assert sum(length for _, length in fragments) == len(data), "bytes were sent again"
    assert office.drive.get_file(status.id) == data


def test_lost_answer_to_the_last_fragment(office, store, folder):
    chunk = office.drive.chunk_size
    data = _content(chunk + 100, seed=5)

    def drop_last(done: int, total: int) -> None:
        if done == chunk:
            store.drop_after = 1  # the final fragment lands, its answer (the item) is lost

    status = office.drive.upload_file(data, f"{folder}/last.bin", progress=drop_last)
    assert status.success and status.verified, status.statusText
    assert status.item["size"] == len(data) and office.drive.get_file(status.id) == data


@pytest.mark.parametrize("fault", [{"drop": True}, {"status": 500}, {"status": 502}], ids=["drop", "500", "502"])
def test_resume_after_a_refused_fragment_never_restarts_from_zero(office, emulator, store, folder, fault):
    data = _content(office.drive.chunk_size * 2 + 7, seed=3)
    before = len(store.fragments)

    def fail_next(done: int, total: int) -> None:
        if done and not getattr(fail_next, "armed", False):
            fail_next.armed = True  # type: ignore[attr-defined]
            emulator.inject_fault("graph", count=1, **fault)

    status = office.drive.upload_file(data, f"{folder}/refused.bin", progress=fail_next)
    assert status.success and status.verified, status.statusText
    starts = [first for first, _ in _session_fragments(store, before)]
    assert starts.count(0) == 1 and starts == sorted(set(starts))
    assert office.drive.get_file(status.id) == data


def test_upload_hash_mismatch_is_an_error(office, store, folder):
    store.corrupt_next = True
    small = office.drive.upload_file(b"payload", f"{folder}/small.txt")
    assert not small.success and small.errors[0]["errorCode"] == "hashMismatch"
    store.corrupt_next = False
    data = _content(MB4 + 100)

    def corrupt_later(done: int, total: int) -> None:
        if done == 0:
            store.corrupt_next = True

    big = office.drive.upload_file(data, f"{folder}/big.bin", progress=corrupt_later)
    assert not big.success and "hash mismatch" in big.statusText


def test_download_hash_mismatch_is_an_error(office, store, folder, tmp_path):
    status = office.drive.upload_file(b"the original content", f"{folder}/tampered.txt")
    blob = store.blob_path(status.id)
    blob.write_bytes(b"the 0riginal content")  # same size, one byte changed on the server's disk
    with pytest.raises(GraphError) as caught:
        office.drive.get_file(status.id)
    assert caught.value.error_code == "hashMismatch"
    target = tmp_path / "never.txt"
    with pytest.raises(GraphError):
        office.drive.get_file(status.id, target)
    assert not target.exists() and list(tmp_path.iterdir()) == []  # no partial file left behind


def test_download_resumes_after_a_cut_connection(office, store, folder, tmp_path):
    data = _content(3 * 1024 * 1024 + 17, seed=7)
    status = office.drive.upload_file(data, f"{folder}/cut.bin")
    ranged = store.ranged_downloads
    store.cut_download_after = 1024 * 1024 + 5  # the server hangs up in the middle of the body
    target = tmp_path / "cut.bin"
    office.drive.get_file(status.id, target)
    assert target.read_bytes() == data
    assert store.ranged_downloads == ranged + 1  # the rest came with one Range request, not from zero


def test_download_of_a_folder_is_refused(office, folder):
    with pytest.raises(GraphError) as caught:
        office.drive.get_file(folder)
    assert caught.value.error_code == "notAFile"


def test_chunk_size_and_source_are_checked(office, folder, tmp_path):
    from netkit_msal._exceptions import ConfigError
    from netkit_msal.office365 import Drive

    with pytest.raises(ConfigError):
        Drive(office._transport, "/me/drive", chunk_size=1000)
    with pytest.raises(ConfigError) as caught:
        office.drive.upload_file(12, f"{folder}/x.bin")
    assert caught.value.key == "source"
    with pytest.raises(ConfigError) as caught:
        office.drive.upload_file(b"x", f"{folder}/x.bin", {"conflictBehaviour": "fail"})
    assert caught.value.suggestion == "conflictBehavior"
    with pytest.raises(ConfigError) as caught:
        office.drive.upload_file(str(tmp_path / "missing.bin"), f"{folder}/x.bin")
    assert caught.value.key == "source" and "cannot read" in str(caught.value)
    text = tmp_path / "text.txt"
    text.write_text("some text")
    with open(text, encoding="utf-8") as handle, pytest.raises(ConfigError) as caught:
        office.drive.upload_file(handle, f"{folder}/x.txt")
    assert "text mode" in str(caught.value)
