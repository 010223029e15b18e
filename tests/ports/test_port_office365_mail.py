"""Ports of developer.4d.com/4D-NetKit, "Office365 class", Mail: every example of the page, and the
tutorial "Authenticate to the Microsoft Graph API in service mode"."""

from __future__ import annotations

import base64
import uuid
from email.message import EmailMessage

import pytest

from netkit_msal import NetKitError, OAuth2Provider
from netkit_msal.emulator import PUBLIC_CLIENT_ID, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET
from netkit_msal.office365 import Office365


@pytest.fixture(scope="module")
def office365(where, browser):
    """$office365 of the page: signed in as Adele, mail type "Microsoft"."""
    param = {"name": "Microsoft", "permission": "signedIn", "clientId": PUBLIC_CLIENT_ID,
             "redirectURI": "http://127.0.0.1:0/authorize/", "scope": "https://graph.microsoft.com/.default",
             **where}
    oauth2 = OAuth2Provider(param)
    yield Office365(oauth2, {"mailType": "Microsoft"})
    oauth2.close()


@pytest.fixture
def mail_id(office365, adele):
    """A mail in Adele's inbox to act on (4D's examples take $mailId as given)."""
    subject = f"Port {uuid.uuid4().hex[:8]}"
    status = office365.mail.send({"subject": subject, "toRecipients": [{"emailAddress": {"address": adele}}],
                                  "body": {"contentType": "text", "content": "For the ports"}})
    assert status.success, status
    found = office365.mail.get_mails({"folderId": "inbox", "filter": f"subject eq '{subject}'"})
    return found.mails[0]["id"]


def test_tutorial_service_mode(where, adele):
    credential = {}
    credential["name"] = "Microsoft"
    credential["permission"] = "service"

    credential["clientId"] = SECRET_CLIENT_ID
    credential["clientSecret"] = SECRET_CLIENT_SECRET
    credential["tenant"] = where["tenant"]
    credential["scope"] = "https://graph.microsoft.com/.default"
    credential.update(where)

    oauth2 = OAuth2Provider(credential)

    office365 = Office365(oauth2, {"mailType": "MIME"})
    # In service mode, you need to indicate on behalf of which user you are sending the request:
    office365.mail.user_id = adele  # $office365.mail.userId:="MyUserPrincipalName"
    # Get mails of MyUserPrincipalName account
    mail_list = office365.mail.get_mails()

    # The list holds Graph message objects with their ids in MIME mode too, as in 4D, so a port acts on them
    assert mail_list.success and mail_list.mails and all(mail["id"] for mail in mail_list.mails)
    first = office365.mail.get_mail(mail_list.mails[0]["id"])  # only getMail answers in the mail type
    assert isinstance(first, EmailMessage)
    with pytest.raises(AttributeError) as caught:  # the 4D spelling is not silently ignored
        office365.mail.userId = adele
    assert "user_id" in str(caught.value)
    oauth2.close()


def test_append(office365):
    draft = {"subject": "Draft from the port", "body": {"contentType": "text", "content": "Kept"}}
    folder = office365.mail.get_folder("drafts")
    status = office365.mail.append(draft, folder["id"])  # $status:=$office365.mail.append($draft; $folder.id)
    assert status.success and status.id
    without_folder = office365.mail.append(draft)  # 4D: no folder is Drafts
    assert without_folder.success
    assert office365.mail.get_mail(without_folder.id)["parentFolderId"] == folder["id"]


def test_copy(office365, mail_id):
    folder_id = office365.mail.get_folder("archive")["id"]
    status = office365.mail.copy(mail_id, folder_id)  # $status:=$office365.mail.copy($mailId; $folderId)
    assert status.success and status.id != mail_id


def test_create_folder_and_move(office365, mail_id):
    name = f"Backup {uuid.uuid4().hex[:6]}"  # "Backup" (unique, so that the port can run again)
    # Creates a new folder on the root
    status = office365.mail.create_folder(name)
    if status.success is True:
        folder_id = status.id
        # Moves your email in the new folder
        status = office365.mail.move(mail_id, folder_id)
    assert status.success and office365.mail.get_mails({"folderId": folder_id}).mails[0]["id"] == status.id


def test_delete_every_mail_of_a_list(office365, mail_id):
    name = f"ToEmpty {uuid.uuid4().hex[:6]}"
    folder_id = office365.mail.create_folder(name).id
    office365.mail.copy(mail_id, folder_id)
    office365.mail.copy(mail_id, folder_id)
    mails = office365.mail.get_mails({"folderId": folder_id}).mails
    # For each($mail;$mails)
    #     $office365.mail.delete($mail.id)
    # End for each
    for mail in mails:
        office365.mail.delete(mail["id"])
    assert len(mails) == 2 and office365.mail.get_mails({"folderId": folder_id}).mails == []


def test_delete_folder_and_rename_folder(office365):
    folder_id = office365.mail.create_folder(f"Backup {uuid.uuid4().hex[:6]}").id
    status = office365.mail.rename_folder(folder_id, f"Backup_old {uuid.uuid4().hex[:6]}")
    assert status.success
    status = office365.mail.delete_folder(folder_id)  # $status:=$office365.mail.deleteFolder($folderId)
    assert status.success


def test_get_folder_list(office365):
    while len(office365.mail.get_folder_list({"top": 50}).folders) < 9:  # the page uses the 9th folder
        office365.mail.create_folder(f"Folder {uuid.uuid4().hex[:6]}")
    # get the mail folder collection under the root folder (in $result.folders)
    result = office365.mail.get_folder_list()
    # get the mail subfolder collection under the 9th folder
    subfolders = office365.mail.get_folder_list(result.folders[8]["id"])
    assert result.success and len(result.folders) >= 9 and subfolders.success


def test_get_mail(office365, mail_id):
    mail = office365.mail.get_mail(mail_id)  # $mail:=$office.mail.getMail($mailId)
    assert mail["id"] == mail_id and mail["body"]["content"]


def test_get_mails(office365, mail_id):
    param = {}
    param["folderId"] = "inbox"
    param["select"] = "sender,subject"

    mails = office365.mail.get_mails(param)
    assert mails.mails and all(set(mail) >= {"id", "sender", "subject"} for mail in mails.mails)


def test_reply(office365, mail_id):
    reply = {}
    # Text that will be send as reply
    reply["comment"] = "Thank you for your message"
    # $status:=$office365.mail.reply($reply; $mails.mailId): the page's $mails.mailId stands for a mail's id
    status = office365.mail.reply(reply, mail_id)
    assert status.success, status


def test_send_given_the_token_is_error_14(where, browser):
    """The page's send example passes $token to New Office365 provider: 4D's error 14 here, saying
    what to pass."""
    oauth2 = OAuth2Provider({"name": "Microsoft", "permission": "signedIn", "clientId": PUBLIC_CLIENT_ID,
                             "redirectURI": "http://127.0.0.1:0/authorize/",
                             "scope": "https://graph.microsoft.com/Mail.Send", **where})
    token = oauth2.get_token()
    with pytest.raises(NetKitError) as caught:
        Office365(token, {"mailType": "Microsoft"})  # $Office365:=New Office365 provider($token; ...)
    assert caught.value.code == 14 and "OAuth2Provider" in caught.value.message
    oauth2.close()


def test_example_create_an_email_with_a_file_attachment_and_send_it(where, browser, adele, megan):
    # Set up authentication
    param = {}
    param["name"] = "Microsoft"
    param["permission"] = "signedIn"
    param["clientId"] = PUBLIC_CLIENT_ID
    param["redirectURI"] = "http://127.0.0.1:0/authorize/"
    # Ask permission to send emails on behalf of the Microsoft user
    param["scope"] = "https://graph.microsoft.com/Mail.Send"
    param.update(where)

    oauth2 = OAuth2Provider(param)

    token = oauth2.get_token()

    # Create the email, specify the sender and the recipient
    email = {}
    email["from"] = {"emailAddress": {"address": adele}}
    email["toRecipients"] = [{"emailAddress": {"address": megan}}]
    email["body"] = {}
    email["body"]["content"] = "Hello, World!"
    email["body"]["contentType"] = "html"
    email["subject"] = "Hello, World!"

    # Create a text file and attach it to the email
    attachment_text = "Simple text file"
    attachment_text = base64.b64encode(attachment_text.encode()).decode()  # BASE64 ENCODE($attachmentText)
    attachment = {}
    attachment["@odata.type"] = "#microsoft.graph.fileAttachment"
    attachment["name"] = "attachment.txt"
    attachment["contentBytes"] = attachment_text
    email["attachments"] = [attachment]

    # Send the email
    office365 = Office365(oauth2, {"mailType": "Microsoft"})
    status = office365.mail.send(email)

    assert token is not None and status.success, status
    oauth2.close()


def test_send_graph_envelope_as_4d_passes_it(office365, adele):
    """4D hands an object that already has ``message`` to Graph as it is."""
    status = office365.mail.send({"message": {"subject": "Envelope", "toRecipients": [
        {"emailAddress": {"address": adele}}]}, "saveToSentItems": False})
    assert status.success, status
