"""Folder operations through ``Office365.drive``: list with paging, get by path and id, create,
rename, move, copy (waiting on the monitor), delete, conflict behaviours, other drives, scopes."""

from __future__ import annotations

import pytest

from netkit_msal import OAuth2Provider
from netkit_msal._exceptions import ConfigError, GraphError
from netkit_msal.office365 import Office365, RetryPolicy

FAST = RetryPolicy(max_retries=3, max_wait=5.0, backoff=0.05)


def test_list_pages_back_and_forth_and_iterates(office, folder):
    for index in range(5):
        assert office.drive.upload_file(f"n{index}".encode(), f"{folder}/file{index}.txt").success
    listing = office.drive.list(folder, {"top": 2})
    assert listing.page == 1 and [i["name"] for i in listing.items] == ["file0.txt", "file1.txt"]
    assert listing.next() and listing.page == 2 and [i["name"] for i in listing.items] == ["file2.txt", "file3.txt"]
    assert listing.next() and listing.isLastPage and [i["name"] for i in listing.items] == ["file4.txt"]
    assert not listing.next()
    assert listing.previous() and listing.page == 2
    assert [item["name"] for item in listing] == [f"file{i}.txt" for i in range(5)]
    by_id = office.drive.list(office.drive.get_item(folder)["id"], {"select": ["id", "name"]})
    assert {tuple(sorted(i)) for i in by_id} == {("id", "name")}


def test_get_item_by_path_and_id(office, folder):
    status = office.drive.upload_file(b"abc", f"{folder}/sub dir/a b.txt")  # missing folders are created
    assert status.success, status.statusText
    by_path = office.drive.get_item(f"{folder}/sub dir/a b.txt")
    assert by_path["id"] == status.id and by_path["size"] == 3 and "file" in by_path
    assert office.drive.get_item(status.id)["name"] == "a b.txt"
    assert office.drive.get_item("/")["root"] == {}
    with pytest.raises(GraphError) as caught:
        office.drive.get_item(f"{folder}/nothing.txt")
    assert caught.value.status == 404 and caught.value.error_code == "itemNotFound"


def test_create_folder_conflicts(office, folder):
    first = office.drive.create_folder(folder, "Reports")
    assert first.success and first.status == 201 and first.item["folder"]["childCount"] == 0
    again = office.drive.create_folder(folder, "Reports")
    assert not again.success and again.status == 409 and again.errors[0]["errorCode"] == "nameAlreadyExists"
    renamed = office.drive.create_folder(folder, "Reports", {"conflictBehavior": "rename"})
    assert renamed.success and renamed.item["name"] == "Reports 1"
    office.drive.upload_file(b"x", f"{folder}/Reports/inside.txt")
    replaced = office.drive.create_folder(folder, "Reports", {"conflictBehavior": "replace"})
    assert replaced.success and replaced.id != first.id
    assert [i["name"] for i in office.drive.list(f"{folder}/Reports")] == []


def test_upload_conflicts(office, folder):
    path = f"{folder}/report.csv"
    assert office.drive.upload_file(b"v1", path).success
    assert office.drive.upload_file(b"v2", path, {"conflictBehavior": "replace"}).success
    assert office.drive.get_file(path) == b"v2"
    failed = office.drive.upload_file(b"v3", path, {"conflictBehavior": "fail"})
    assert not failed.success and failed.errors[0]["errorCode"] == "nameAlreadyExists"
    renamed = office.drive.upload_file(b"v4", path, {"conflictBehavior": "rename"})
    assert renamed.success and renamed.item["name"] == "report 1.csv"
    big = b"b" * (4 * 1024 * 1024 + 9)
    failed_big = office.drive.upload_file(big, path, {"conflictBehavior": "fail"})
    assert not failed_big.success and failed_big.status == 409
    renamed_big = office.drive.upload_file(big, path, {"conflictBehavior": "rename"})
    assert renamed_big.success and renamed_big.item["name"] == "report 2.csv"
    assert office.drive.get_file(path) == b"v2"


def test_rename_move_and_their_conflicts(office, folder):
    office.drive.create_folder(folder, "archive")
    status = office.drive.upload_file(b"data", f"{folder}/q4.csv")
    renamed = office.drive.rename(status.id, "q4-final.csv")
    assert renamed.success and renamed.item["name"] == "q4-final.csv" and renamed.id == status.id
    moved = office.drive.move(f"{folder}/q4-final.csv", f"{folder}/archive")
    assert moved.success and moved.item["parentReference"]["path"].endswith(f"{folder}/archive")
    assert office.drive.get_file(f"{folder}/archive/q4-final.csv") == b"data"
    office.drive.upload_file(b"other", f"{folder}/other.csv")
    clash = office.drive.rename(f"{folder}/other.csv", "archive")
    assert not clash.success and clash.status == 409
    office.drive.upload_file(b"same name", f"{folder}/q4-final.csv")
    refused = office.drive.move(f"{folder}/q4-final.csv", f"{folder}/archive")
    assert not refused.success and refused.errors[0]["errorCode"] == "nameAlreadyExists"
    kept = office.drive.move(f"{folder}/q4-final.csv", f"{folder}/archive", {"conflictBehavior": "rename"})
    assert kept.success and kept.item["name"] == "q4-final 1.csv"
    into_itself = office.drive.move(f"{folder}/archive", f"{folder}/archive")
    assert not into_itself.success and into_itself.status == 400


def test_copy_waits_on_the_monitor(office, store, folder):
    office.drive.upload_file(b"one", f"{folder}/src/a.txt")
    office.drive.upload_file(b"two", f"{folder}/src/deep/b.txt")
    office.drive.create_folder(folder, "dst")
    store.copy_polls = 3  # "inProgress" three times before "completed"
    copied = office.drive.copy(f"{folder}/src", f"{folder}/dst", "copy of src")
    assert copied.success, copied.statusText
    assert office.drive.get_item(copied.id)["name"] == "copy of src"
    assert office.drive.get_file(f"{folder}/dst/copy of src/deep/b.txt") == b"two"
    store.copy_polls = 0
    clash = office.drive.copy(f"{folder}/src", f"{folder}/dst", "copy of src")
    assert not clash.success and clash.status == 409
    renamed = office.drive.copy(f"{folder}/src/a.txt", f"{folder}/src", options={"conflictBehavior": "rename"})
    assert renamed.success and office.drive.get_item(renamed.id)["name"] == "a 1.txt"


def test_copy_gives_up_at_its_timeout(office, store, folder):
    office.drive.upload_file(b"slow", f"{folder}/slow.txt")
    store.copy_polls = 10 ** 6  # never finishes
    status = office.drive.copy(f"{folder}/slow.txt", folder, "slow copy.txt", timeout=0.3)
    assert not status.success and status.errors[0]["errorCode"] == "timeout"
    assert "not finished after 0.3 s" in status.statusText


def test_delete(office, folder):
    office.drive.upload_file(b"bye", f"{folder}/gone/file.txt")
    deleted = office.drive.delete(f"{folder}/gone")
    assert deleted.success and deleted.status == 204
    with pytest.raises(GraphError):
        office.drive.get_item(f"{folder}/gone/file.txt")
    again = office.drive.delete(f"{folder}/gone")
    assert not again.success and again.status == 404
    with pytest.raises(ConfigError):
        office.drive.delete("/")


def test_bad_item_references_are_config_errors(office):
    for bad in ("", "a/b", "/a//b", "/a/../b"):
        with pytest.raises(ConfigError):
            office.drive.get_item(bad)
    with pytest.raises(ConfigError):
        office.drive.rename("/x", "a/b")
    with pytest.raises(ConfigError):
        office.drive_of({"driveId": "x", "siteId": "y"})


def test_other_drives_and_sharepoint(office, emulator, folder):
    assert office.drive.upload_file(b"counted", f"{folder}/counted.txt").success
    mine = office.drive.get_drive()
    assert mine["driveType"] == "business" and mine["quota"]["total"] > mine["quota"]["used"] > 0
    same = office.drive_of(mine["id"])
    assert same.get_item(folder)["id"] == office.drive.get_item(folder)["id"]
    library = office.drive_of({"siteId": "root"})
    assert library.get_drive()["driveType"] == "documentLibrary"
    status = library.upload_file(b"shared", "/Shared/notes.txt")
    assert status.success and library.get_file("/Shared/notes.txt") == b"shared"
    assert office.drive_of({"driveId": library.get_drive()["id"]}).get_item(status.id)["name"] == "notes.txt"
    missing = office.drive_of({"siteId": "nosuchsite"})
    with pytest.raises(GraphError) as caught:
        missing.get_drive()
    assert caught.value.status == 404


def test_quota_refuses_an_upload_that_does_not_fit(office, emulator, folder):
    drive = emulator.graph.drives.user_drive(emulator.users[0])
    saved = drive.quota_total
    drive.quota_total = drive.used() + 10
    try:
        refused = office.drive.upload_file(b"x" * 100, f"{folder}/full.bin")
        assert not refused.success and refused.status == 507
        assert refused.errors[0]["errorCode"] == "quotaLimitReached"
    finally:
        drive.quota_total = saved


@pytest.fixture(scope="module")
def signed_in(emulator):
    """Delegated sign-ins asking for Files.* by short name (consented in the headless browser)."""
    emulator.install_browser()
    providers = []

    def make(*scopes: str) -> Office365:
        provider = OAuth2Provider(emulator.params("signedIn", cache=False, scope=list(scopes)))
        providers.append(provider)
        return Office365(provider, retry=FAST)

    yield make
    for provider in providers:
        provider.close()


def test_delegated_short_scope_names(signed_in):
    writer = signed_in("Files.ReadWrite")
    status = writer.drive.upload_file(b"mine", "/delegated/mine.txt")
    assert status.success, status.statusText
    assert writer.drive.get_file("/delegated/mine.txt") == b"mine"
    reader = signed_in("Files.Read")
    assert reader.drive.get_item("/delegated/mine.txt")["size"] == 4
    refused = reader.drive.upload_file(b"no", "/delegated/no.txt")
    assert not refused.success and refused.status == 403
    sites = signed_in("Sites.ReadWrite.All")
    assert sites.drive_of({"siteId": "root"}).upload_file(b"s", "/from-delegate.txt").success
