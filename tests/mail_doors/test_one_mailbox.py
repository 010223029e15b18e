"""One mailbox behind every door: SMTP, LMTP, Graph sendMail in; IMAP, POP3, Graph out; flags, moves, deletes."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import ssl

import requests
from doors_support import ADELE, MEGAN, mime, unique_subject, xoauth2

GRAPH = "https://graph.microsoft.com"


class Graph:
    """A user's Graph, over HTTPS with a delegated v1 token (the wire form msgraph-sdk uses)."""

    def __init__(self, emu, user: str) -> None:
        self.emu = emu
        token = emu.mint_access_token(user, [f"{GRAPH}/Mail.ReadWrite", f"{GRAPH}/Mail.Send"])
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = emu.ca_file
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.emu.graph_url}/me{path}", timeout=30, **kwargs)

    def find(self, subject: str, folder: str = "inbox") -> list[dict]:
        answer = self.call("GET", f"/mailFolders/{folder}/messages",
                           params={"$filter": f"subject eq '{subject}'", "$select": "id,subject,isRead,flag"})
        assert answer.status_code == 200, answer.text
        return answer.json()["value"]


def imap_for(doors, user: str, token: str) -> imaplib.IMAP4_SSL:
    imap = imaplib.IMAP4_SSL(doors.host, doors.ports["imaps"], timeout=10,
                             ssl_context=ssl.create_default_context(cafile=doors.ca_file))
    imap.authenticate("XOAUTH2", lambda _: xoauth2(user, token).encode())
    return imap


def uid_of(imap: imaplib.IMAP4_SSL, subject: str) -> bytes:
    typ, found = imap.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
    assert typ == "OK" and len(found[0].split()) == 1, found
    return found[0]


def test_sent_through_smtp_is_read_through_graph(doors, doors_emulator, outlook_token):
    subject = unique_subject("smtp to graph")
    with smtplib.SMTP(doors.host, doors.ports["submission"], timeout=10) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=doors.ca_file))
        smtp.auth("XOAUTH2", lambda c=None: xoauth2(ADELE, outlook_token(ADELE, "SMTP.Send")) if c is None else "")
        smtp.sendmail(ADELE, [MEGAN], mime(ADELE, MEGAN, subject, "Through SMTP, seen in Graph."))
    found = Graph(doors_emulator, MEGAN).find(subject)
    assert len(found) == 1 and found[0]["isRead"] is False
    (sent,) = Graph(doors_emulator, ADELE).find(subject, "sentitems")  # Exchange keeps SMTP mail sent, too
    assert sent["isRead"] is True


def test_sent_through_graph_is_read_through_imap_and_pop3(doors, doors_emulator, outlook_token):
    subject = unique_subject("graph to imap")
    answer = Graph(doors_emulator, ADELE).call("POST", "/sendMail", json={"message": {
        "subject": subject, "body": {"contentType": "Text", "content": "Through Graph, seen in IMAP."},
        "toRecipients": [{"emailAddress": {"address": MEGAN}}]}})
    assert answer.status_code == 202, answer.text
    imap = imap_for(doors, MEGAN, outlook_token(MEGAN, "IMAP.AccessAsUser.All"))
    try:
        imap.select("INBOX", readonly=True)
        _, data = imap.uid("FETCH", uid_of(imap, subject), "(BODY.PEEK[])")
        assert b"Through Graph, seen in IMAP." in data[0][1]
    finally:
        imap.logout()
    pop = poplib.POP3_SSL(doors.host, doors.ports["pop3s"], timeout=10,
                          context=ssl.create_default_context(cafile=doors.ca_file))
    try:
        reply = pop._shortcmd("AUTH XOAUTH2 " + __import__("base64").b64encode(
            xoauth2(MEGAN, outlook_token(MEGAN, "POP.AccessAsUser.All")).encode()).decode())
        assert reply.startswith(b"+OK")
        assert any(subject.encode() in b"\n".join(pop.top(i + 1, 0)[1]) for i in range(pop.stat()[0]))
    finally:
        pop.quit()
    sent = Graph(doors_emulator, ADELE).find(subject, "sentitems")
    imap = imap_for(doors, ADELE, outlook_token(ADELE, "IMAP.AccessAsUser.All"))
    try:
        imap.select('"Sent Items"', readonly=True)
        assert len(sent) == 1 and uid_of(imap, subject)
    finally:
        imap.logout()


def test_flags_moves_and_deletes_cross_doors(doors, doors_emulator, outlook_token):
    subject = unique_subject("across doors")
    doors.deliver(MEGAN, mime(ADELE, MEGAN, subject))  # LMTP, as Exchange's transport would
    graph = Graph(doors_emulator, MEGAN)
    (message,) = graph.find(subject)
    assert message["isRead"] is False
    # Graph -> IMAP: read and flagged
    assert graph.call("PATCH", f"/messages/{message['id']}",
                      json={"isRead": True, "flag": {"flagStatus": "flagged"}}).status_code == 200
    imap = imap_for(doors, MEGAN, outlook_token(MEGAN, "IMAP.AccessAsUser.All"))
    try:
        imap.select("INBOX")
        uid = uid_of(imap, subject)
        _, data = imap.uid("FETCH", uid, "(FLAGS)")
        assert b"\\Seen" in data[0] and b"\\Flagged" in data[0]
        # IMAP -> Graph: unread again, then moved to Archive
        imap.uid("STORE", uid, "-FLAGS", "(\\Seen)")
        (message,) = graph.find(subject)
        assert message["isRead"] is False and message["flag"]["flagStatus"] == "flagged"
        assert imap.uid("MOVE", uid, "Archive")[0] == "OK"
        assert graph.find(subject) == [] and len(graph.find(subject, "archive")) == 1
        # Graph -> IMAP: moved to Deleted Items, then deleted
        (archived,) = graph.find(subject, "archive")
        moved = graph.call("POST", f"/messages/{archived['id']}/move", json={"destinationId": "deleteditems"})
        assert moved.status_code == 201, moved.text
        imap.select('"Deleted Items"')
        assert uid_of(imap, subject)
        assert graph.call("DELETE", f"/messages/{moved.json()['id']}").status_code == 204
        imap.select('"Deleted Items"')
        assert imap.uid("SEARCH", None, "SUBJECT", f'"{subject}"')[1] == [b""]
    finally:
        imap.logout()


def test_a_pop3_deletion_is_a_graph_deletion(doors, doors_emulator, outlook_token):
    subject = unique_subject("popped")
    doors.deliver(MEGAN, mime(ADELE, MEGAN, subject))
    graph = Graph(doors_emulator, MEGAN)
    assert len(graph.find(subject)) == 1
    pop = poplib.POP3_SSL(doors.host, doors.ports["pop3s"], timeout=10,
                          context=ssl.create_default_context(cafile=doors.ca_file))
    import base64
    assert pop._shortcmd("AUTH XOAUTH2 " + base64.b64encode(
        xoauth2(MEGAN, outlook_token(MEGAN, "POP.AccessAsUser.All")).encode()).decode()).startswith(b"+OK")
    number = next(i + 1 for i in range(pop.stat()[0]) if subject.encode() in b"\n".join(pop.top(i + 1, 0)[1]))
    pop.dele(number)
    pop.quit()
    assert graph.find(subject) == []


def test_graph_refuses_sending_as_someone_else(doors_emulator):
    answer = Graph(doors_emulator, ADELE).call("POST", "/sendMail", json={"message": {
        "subject": "not mine", "from": {"emailAddress": {"address": MEGAN}},
        "toRecipients": [{"emailAddress": {"address": ADELE}}]}})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "ErrorSendAsDenied"
