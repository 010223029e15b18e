"""Ports of the examples that hand the token to 4D's mail transporters: the blog post "4D and Microsoft
365 access" (4D v19 R3), the example this project grew from (sign in for IMAP, check the connection),
and the archived tutorial "Authenticate to the Microsoft Graph API in signedIn mode and send an email
with SMTP". Outlook's servers are played by a private Dovecot that checks the emulator's tokens."""

from __future__ import annotations

import socket
from email.message import EmailMessage

from netkit_msal import OAuth2Provider, mail
from netkit_msal.emulator import PUBLIC_CLIENT_ID


def test_blog_imap_check_connection(mail_emulator, dovecot, redirect_uri):
    mail_emulator.install_browser()
    param = {}
    param["name"] = "Microsoft"
    param["permission"] = "signedIn"
    param["clientId"] = PUBLIC_CLIENT_ID
    param["redirectURI"] = redirect_uri
    param["scope"] = "https://outlook.office.com/IMAP.AccessAsUser.All"
    param.update(tenant=mail_emulator.tenant_id, authority=mail_emulator.authority, caFile=mail_emulator.ca_file,
                 cache=False)
    # Create new OAuth2 object
    oauth2 = OAuth2Provider(param)
    # Ask for a token
    token = oauth2.get_token()
    assert token is not None

    # Using of the token to access emails over IMAP
    imap_parameters = {}
    imap_parameters["mechanism"] = "XOAUTH2"  # $IMAPParameters.authenticationMode:=IMAP authentication OAUTH2
    # $IMAPParameters.accessTokenOAuth2:=$token: the token is the source argument
    imap_parameters["host"] = dovecot.host  # "outlook.office365.com" (the default host)
    imap_parameters["port"] = dovecot.ports["imaps"]
    imap_parameters["ca_file"] = dovecot.ca_file
    imap_parameters["user"] = mail_emulator.users[0].upn
    status = mail.check_connection("imap", token, **imap_parameters)  # $IMAPTransporter.checkConnection()

    assert status == {"success": True, "status": 0, "statusText": status["statusText"], "errors": []}
    assert status["statusText"].startswith("OK")

    # The same call when the server is not there: 4D's status object, with 4D's error entries
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    refused = mail.check_connection("imap", token, **{**imap_parameters, "port": closed, "timeout": 5})
    assert refused["success"] is False and refused["status"] == 0 and refused["statusText"]
    assert list(refused["errors"][0]) == ["errCode", "message", "componentSignature"]
    assert refused["errors"][0]["errCode"] != 0 and refused["errors"][0]["componentSignature"] == "network"
    oauth2.close()


def test_archived_tutorial_signed_in_then_smtp(mail_emulator, dovecot, redirect_uri):
    mail_emulator.install_browser()
    # Configure authentication
    param = {}
    param["name"] = "Microsoft"
    param["permission"] = "signedIn"
    param["clientId"] = PUBLIC_CLIENT_ID
    param["redirectURI"] = redirect_uri
    param["scope"] = "https://outlook.office.com/SMTP.Send"  # Get consent for sending an smtp email
    param.update(tenant=mail_emulator.tenant_id, authority=mail_emulator.authority, caFile=mail_emulator.ca_file,
                 cache=False)

    # Instantiate an object of the OAuth2Provider class
    oauth2 = OAuth2Provider(param)

    # Send a token request and start the a web server on the port specified in $param.redirectURI
    # to intercept the authorization response
    token = oauth2.get_token()

    # Set the email address for SMTP configuration
    address = mail_emulator.users[0].upn

    # Set the email's content and metadata (4D's email object; Python's is an EmailMessage)
    email = EmailMessage()
    email["Subject"] = "My first mail"
    email["From"] = address
    email["To"] = mail_emulator.users[1].upn
    email.set_content("Test mail \r\n This is just a test e-mail \r\n Please ignore it")

    # Configure the SMTP connection
    parameters = {}
    # $parameters.accessTokenOAuth2:=$token: the token is the source argument
    # $parameters.authenticationMode:=SMTP authentication OAUTH2 (XOAUTH2, the default)
    parameters["host"] = dovecot.host  # "smtp.office365.com" (the default host)
    parameters["port"] = dovecot.ports["submission"]
    parameters["ca_file"] = dovecot.ca_file
    parameters["user"] = address

    # Send the email
    with mail.smtp(token, **parameters) as smtp:
        refused = smtp.send_message(email)  # $statusSend:=$smtp.send($email)

    assert refused == {}
    sent = [m for m in dovecot.messages if m.mail_from == address]
    assert sent and sent[-1].rcpt_tos == (mail_emulator.users[1].upn,)  # relayed before the 250 answer
    oauth2.close()
