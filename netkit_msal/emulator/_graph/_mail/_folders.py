"""Mail folders: list (with hidden ones on request), child folders, create, get, rename, delete."""

from __future__ import annotations

from ..._http import Response
from .._core import Ctx, GraphFail, Router, bad_request, collection, entity, selector
from .._store import ROOT
from ._common import _folder

router = Router()


_FOLDER_PROPERTIES = ("id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount",
                      "totalItemCount", "sizeInBytes", "isHidden")


def _folder_list(ctx: Ctx, parent_id: str, context: str) -> Response:
    box = ctx.mailbox()
    pick = selector(ctx, _FOLDER_PROPERTIES, "Microsoft.OutlookServices.MailFolder")
    hidden = (ctx.q("includeHiddenFolders") or "").lower() == "true"
    folders = [box.folder_view(f) for f in box.children(parent_id) if hidden or not f["isHidden"]]
    return collection(ctx, folders, pick, context=context, default_top=10, max_top=1000,
                      default_order=[("displayName", False)], type_name="mailFolder")


@router.add("GET", "/mailFolders", "mail.read")
def list_folders(ctx: Ctx) -> Response:
    return _folder_list(ctx, ctx.mailbox().well_known[ROOT], f"{ctx.user_path}/mailFolders")


@router.add("GET", "/mailFolders/{folder_id}/childFolders", "mail.read")
def list_child_folders(ctx: Ctx) -> Response:
    folder = _folder(ctx.mailbox(), ctx.params["folder_id"])
    return _folder_list(ctx, folder["id"], f"{ctx.user_path}/mailFolders('{folder['id']}')/childFolders")


def _new_folder(ctx: Ctx, parent_id: str) -> Response:
    box = ctx.mailbox()
    data = ctx.body_json()
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The displayName property is required.", "ErrorInvalidRequest")
    if any(f["displayName"].lower() == name.lower() for f in box.children(parent_id)):
        raise GraphFail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    folder = box.add_folder(name, parent_id, hidden=bool(data.get("isHidden")))
    return entity(ctx, f"{ctx.user_path}/mailFolders/$entity", box.folder_view(folder), 201)


@router.add("POST", "/mailFolders", "mail.write")
def create_folder(ctx: Ctx) -> Response:
    return _new_folder(ctx, ctx.mailbox().well_known[ROOT])


@router.add("POST", "/mailFolders/{folder_id}/childFolders", "mail.write")
def create_child_folder(ctx: Ctx) -> Response:
    return _new_folder(ctx, _folder(ctx.mailbox(), ctx.params["folder_id"])["id"])


@router.add("GET", "/mailFolders/{folder_id}", "mail.read")
def get_folder(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    pick = selector(ctx, _FOLDER_PROPERTIES, "Microsoft.OutlookServices.MailFolder")
    folder = _folder(box, ctx.params["folder_id"])
    return entity(ctx, f"{ctx.user_path}/mailFolders/$entity", pick(box.folder_view(folder)))


@router.add("PATCH", "/mailFolders/{folder_id}", "mail.write")
def update_folder(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    folder = _folder(box, ctx.params["folder_id"])
    data = ctx.body_json()
    unknown = set(data) - {"displayName", "isHidden"} - {k for k in data if k.startswith("@odata")}
    if unknown:
        raise bad_request(f"The property '{sorted(unknown)[0]}' cannot be updated on a mail folder.",
                          "RequestBodyRead")
    name = data.get("displayName")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise bad_request("The displayName must not be empty.", "ErrorInvalidRequest")
        if folder["id"] in box.well_known.values():
            raise bad_request("A distinguished folder cannot be renamed.", "ErrorCannotRenameDistinguishedFolder")
        if any(f["displayName"].lower() == name.lower() and f["id"] != folder["id"]
               for f in box.children(folder["parentFolderId"])):
            raise GraphFail(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder["displayName"] = name
    if "isHidden" in data:
        folder["isHidden"] = bool(data["isHidden"])
    return entity(ctx, f"{ctx.user_path}/mailFolders/$entity", box.folder_view(folder))


@router.add("DELETE", "/mailFolders/{folder_id}", "mail.write")
def delete_folder(ctx: Ctx) -> Response:
    box = ctx.mailbox()
    folder = _folder(box, ctx.params["folder_id"])
    if folder["id"] in box.well_known.values():
        raise bad_request("Distinguished folders cannot be deleted.", "ErrorDeleteDistinguishedFolder")
    box.delete_folder(folder["id"])
    return Response.empty()
