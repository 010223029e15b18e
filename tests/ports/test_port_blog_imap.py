"""Port of the blog post "4D and Microsoft 365 access" (4D v19 R3), the example this project grew
from: sign in for IMAP, then hand the token to an IMAP transporter and check the connection."""

from __future__ import annotations

import socket

from netkit_msal import OAuth2Provider, mail

from conftest import PUBLIC_CLIENT_ID


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
