"""No secret in logs, reprs, exception messages or CLI output, for every flow and its failure paths.

All loggers at DEBUG (ours, MSAL's, urllib3's). Each test collects the secrets it meets (access, refresh and
id tokens, authorization codes, the client secret, the private key) and everything a user could see (log
lines, repr/str of every object and error, CLI output), then looks for each secret in each text. Refresh
tokens are opaque (no pattern finds them), so each is also registered with the suite-wide guard.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socketserver
import threading
import uuid
from typing import Any

import pytest
import secrets_guard

from netkit_msal import (
    AuthenticationError,
    CallbackError,
    ConfigError,
    FlowTimeoutError,
    GraphError,
    HTTPError,
    InteractionRequiredError,
    NetKitError,
    OAuth2Provider,
    Token,
)
from netkit_msal.cli import main
from netkit_msal.emulator import CERT_CLIENT_ID, SECRET_CLIENT_ID, SECRET_CLIENT_SECRET
from netkit_msal.office365 import Office365, RetryPolicy

MAIL_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
LOGGERS = ("", "msal", "urllib3", "netkit_msal", "requests", "azure")


class Collector(logging.Handler):
    """Every record, fully formatted (message, arguments, exception and its chain)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def seen():
    """(secrets, texts, check): collect, then ``check()`` asserts no secret is in any text."""
    collector = Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    secrets: list[str] = [SECRET_CLIENT_SECRET]
    texts: list[str] = []

    def check() -> None:
        everything = texts + collector.lines
        everything += [decoded for text in everything for decoded in _base64_runs(text)]
        assert any(line.startswith("msal") for line in collector.lines)
        assert any(line.startswith("urllib3") for line in collector.lines)
        for secret in {s for s in secrets if s and len(s) >= 8}:
            leaks = [text[:160] for text in everything if secret in text]
            assert not leaks, leaks

    yield secrets, texts, check
    root.removeHandler(collector)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _base64_runs(text: str) -> list[str]:
    """What long base64 runs in ``text`` decode to (a SASL string echoed by a server carries the token)."""
    decoded = []
    for run in re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", text):
        try:
            decoded.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
        except ValueError:
            pass
    return decoded


def keep(secrets: list[str], *tokens: Any) -> None:
    """Note a token's secrets (and register refresh tokens with the suite-wide guard)."""
    for token in tokens:
        if isinstance(token, Token):
            secrets.extend(filter(None, (token.access_token, token.refresh_token, token.id_token)))
            if token.refresh_token:
                secrets_guard.add_secret("a refresh token", token.refresh_token)
        elif isinstance(token, str):
            secrets.append(token)


def shown(texts: list[str], *objects: Any) -> None:
    for obj in objects:
        texts.extend((repr(obj), str(obj)))
        if isinstance(obj, BaseException):
            texts.extend(str(arg) for arg in obj.args)
            texts.extend(str(value) for value in vars(obj).values())


def expect(texts: list[str], kinds: type | tuple[type, ...], call) -> BaseException:
    """Run ``call``; it must raise one of ``kinds`` (a NetKitError); its text joins ``texts``."""
    with pytest.raises(kinds) as caught:
        call()
    assert isinstance(caught.value, NetKitError), type(caught.value)
    shown(texts, caught.value)
    return caught.value


def private_key_lines(path: str) -> list[str]:
    with open(path) as handle:
        lines = [line for line in handle.read().splitlines() if line and not line.startswith("-----")]
    return lines[:4]


def test_every_flow_and_failure_path_at_debug(emu, tmp_path, seen):
    secrets, texts, check = seen
    cache = {"path": str(tmp_path / "tokens.bin"), "allowUnencrypted": True}
    users = [u.upn for u in emu.users]
    secrets += private_key_lines(emu.client_certificate_path)

    # --- flows -----------------------------------------------------------------------------------------------
    emu.set_token_lifetime(120)  # every silent call after the first refreshes
    user = OAuth2Provider(emu.params(cache=cache, accessType="offline"))
    signed = user.get_token()
    refreshed = OAuth2Provider(emu.params(cache=cache, accessType="offline")).get_token(interactive=False)
    forced = user.get_token(force_refresh=True)
    mail = user.get_token("https://outlook.office.com/IMAP.AccessAsUser.All")
    restored = OAuth2Provider(emu.params(cache=False, accessType="offline", token=json.loads(forced.to_json())))
    restored_token = restored.get_token(force_refresh=True)
    device = OAuth2Provider(emu.params(cache=False, flow="deviceCode", loginHint=users[1]),
                            on_device_code=lambda info: texts.append(json.dumps(info))).get_token()
    service = OAuth2Provider(emu.params("service", cache=cache))
    app_token = service.get_token(force_refresh=True)
    cert = OAuth2Provider(emu.params("service", cache=False, clientId=CERT_CLIENT_ID, clientSecret=None,
                                     certificateFile=emu.client_certificate_path))
    cert_token = cert.get_token()
    with open(emu.client_certificate_path) as handle:
        pem = handle.read()
    pem_provider = OAuth2Provider(emu.params("service", cache=False, clientId=CERT_CLIENT_ID, clientSecret=None,
                                             privateKey=pem))
    pem_token = pem_provider.get_token()
    web = OAuth2Provider(emu.params(cache=False, clientId=SECRET_CLIENT_ID, clientSecret=SECRET_CLIENT_SECRET,
                                    redirectURI="https://app.contoso.example/auth/callback", accessType="offline"))
    reply = emu.browser().authorize(web.get_authorization_url())
    keep(secrets, reply["code"])
    web_token = web.complete_authorization(reply)
    credential = user.credential()
    azure_token = credential.get_token("https://graph.microsoft.com/.default")
    keep(secrets, signed, refreshed, forced, mail, restored_token, device, app_token, cert_token, pem_token,
         web_token, azure_token.token)
    assert signed.refresh_token and refreshed.refresh_token and web_token.refresh_token
    box = Office365(service, {"userId": users[0]}, retry=RetryPolicy(max_retries=1, max_wait=1, backoff=0.01))
    assert box.mail.send({"subject": "secrets", "toRecipients": [{"emailAddress": {"address": users[1]}}]}).success
    assert user.is_token_valid() and user.accounts()
    shown(texts, user, refreshed, restored, service, cert, pem_provider, web, credential, box, box._transport,
          user.config, service.config, cert.config, pem_provider.config, web.config, restored.config,
          user.token_store(), user.config.cache, signed, forced, mail, restored_token, device, app_token,
          web_token)
    texts.append(json.dumps(user.accounts()))

    # --- failure paths ---------------------------------------------------------------------------------------
    bad_secret = "wrong-secret-" + uuid.uuid4().hex
    secrets.append(bad_secret)
    expect(texts, AuthenticationError,
           lambda: OAuth2Provider(emu.params("service", cache=False, clientSecret=bad_secret)).get_token())
    # a secret with a certificate: the certificate is used (as in 4D), and the secret app has none registered
    expect(texts, AuthenticationError,
           lambda: OAuth2Provider(emu.params("service", cache=False, privateKey=pem)).get_token())
    expect(texts, ConfigError, lambda: OAuth2Provider(emu.params("service", cache=False, clientId=CERT_CLIENT_ID,
                                                                  clientSecret=None, privateKey=pem[:300])))
    expect(texts, CallbackError, lambda: web.complete_authorization({**reply, "state": "forged"}))
    expect(texts, CallbackError, lambda: web.complete_authorization(
        {"error": "access_denied", "error_description": "refused", "state": "x"}))
    expect(texts, AuthenticationError, lambda: web.complete_authorization(
        emu.browser().authorize(web.get_authorization_url()) | {"code": reply["code"]}))  # a used code
    for n, (fault, kind) in enumerate(((dict(status=429, retry_after=30), AuthenticationError),
                                       (dict(drop=True), HTTPError), (dict(latency=12), FlowTimeoutError))):
        faulty = {"path": str(tmp_path / f"faulty{n}.bin"), "allowUnencrypted": True}  # MSAL remembers a 429
        (tmp_path / f"faulty{n}.bin").write_bytes((tmp_path / "tokens.bin").read_bytes())
        emu.inject_fault("token", count=None, **fault)
        # timeout: an honest answer (discovery) comes well within it even on a busy machine; the latency is beyond
        expect(texts, kind, lambda: OAuth2Provider(emu.params("service", cache=False, timeout=5)).get_token())
        expect(texts, kind, lambda: OAuth2Provider(emu.params(cache=faulty, accessType="offline", timeout=5))  # noqa: B023
               .get_token(interactive=False))
        emu.clear_faults()
    emu.revoke_refresh_tokens(users[0])
    expect(texts, InteractionRequiredError,
           lambda: OAuth2Provider(emu.params(cache=cache, accessType="offline")).get_token(interactive=False))
    expect(texts, InteractionRequiredError, lambda: OAuth2Provider(emu.params(
        cache=False, token=json.loads(forced.to_json()), accessType="offline")).get_token(force_refresh=True,
                                                                                        interactive=False))
    emu.install_browser(users[2])
    third = OAuth2Provider(emu.params(cache=False, loginHint=users[2], accessType="offline"))
    keep(secrets, third.get_token())
    emu.install_browser()
    emu.disable_user(users[2])
    try:
        expect(texts, AuthenticationError, lambda: third.get_token(force_refresh=True, interactive=False))
    finally:
        emu.disable_user(users[2], disabled=False)
    expect(texts, GraphError, lambda: box.mail.get_mail("AAMk-no-such-message"))
    emu.inject_fault("graph", status=401, count=2)
    expect(texts, GraphError, lambda: box.user.get_current())
    emu.inject_fault("graph", status=503, count=None)
    shown(texts, box.mail.send({"subject": "x", "toRecipients": [{"emailAddress": {"address": users[1]}}]}))
    emu.clear_faults()
    expect(texts, ConfigError, lambda: box.mail.send({"subjet": bad_secret}))
    check()


# --- the CLI -----------------------------------------------------------------------------------------------------

class _RefusingImap(socketserver.StreamRequestHandler):
    """An IMAP server that refuses every OAuth 2.0 login (``echo``: quoting, carelessly, what the client sent)."""

    echo = False

    def handle(self) -> None:
        self.wfile.write(b"* OK fake IMAP ready\r\n")
        while line := self.rfile.readline(65536):
            tag, _, command = line.decode("ascii", "replace").strip().partition(" ")
            verb = command.split(" ")[0].upper()
            if verb == "CAPABILITY":
                self.wfile.write(f"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\n{tag} OK done\r\n".encode())
            elif verb == "AUTHENTICATE":
                self.wfile.write(b"+ \r\n")
                response = self.rfile.readline(65536).strip()
                challenge = base64.b64encode(json.dumps({"status": "401", "schemes": "Bearer"}).encode())
                self.wfile.write(b"+ " + challenge + b"\r\n")
                self.rfile.readline(65536)
                echoed = response.decode() if self.echo else ""
                self.wfile.write(f"{tag} NO [AUTHENTICATIONFAILED] bad credentials {echoed}\r\n".encode())
            elif verb == "LOGOUT":
                self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:
                self.wfile.write(f"{tag} BAD unknown\r\n".encode())


class _EchoingImap(_RefusingImap):
    echo = True


@pytest.fixture(params=[_RefusingImap])
def imap_port(request):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def run_cli(capsys, texts: list[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    texts.extend((out, err))
    return code, out


def test_cli_prints_a_token_only_when_asked(emu, tmp_path, seen, capsys, imap_port):
    secrets, texts, check = seen
    params = emu.params(cache={"path": str(tmp_path / "tokens.bin"), "allowUnencrypted": True},
                        accessType="offline")
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    service_path = tmp_path / "service.json"
    service_path.write_text(json.dumps(emu.params("service", cache=False)))

    assert run_cli(capsys, texts, "login", "--params", str(path))[0] == 0
    token = OAuth2Provider(params).get_token(interactive=False)
    keep(secrets, token, OAuth2Provider(params).get_token(MAIL_SCOPE, interactive=False))

    # only `token` prints it: checked here, and kept out of the texts searched below
    assert main(["token", "--params", str(path)]) == 0
    assert capsys.readouterr().out.strip() == token.access_token
    assert main(["token", "--json", "--params", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["token"]["access_token"] == token.access_token

    assert run_cli(capsys, texts, "login", "--params", str(service_path))[0] == 0
    assert run_cli(capsys, texts, "accounts", "--params", str(path))[0] == 0
    assert run_cli(capsys, texts, "accounts", "--json", "--params", str(path))[0] == 0
    mail_args = ("--host", "127.0.0.1", "--port", str(imap_port), "--tls", "none")
    code, out = run_cli(capsys, texts, "mail-check", "imap", "--params", str(path), *mail_args)
    assert code == 1 and json.loads(out)["success"] is False
    token_file = tmp_path / "token.json"
    token_file.write_text(token.to_json())
    code, out = run_cli(capsys, texts, "mail-check", "imap", "--token-file", str(token_file), *mail_args,
                        "--mechanism", "OAUTHBEARER")
    assert code == 1 and json.loads(out)["success"] is False
    code, out = run_cli(capsys, texts, "mail-check", "smtp", "--token-file", str(token_file), "--host", "127.0.0.1",
                        "--port", "1", "--tls", "none", "--timeout", "2")
    assert code == 1
    # failures print one line, without secrets
    emu.inject_fault("token", drop=True, count=None)
    try:
        emu.set_token_lifetime(120)
        assert run_cli(capsys, texts, "login", "--params", str(service_path))[0] == 1
    finally:
        emu.clear_faults()
    assert run_cli(capsys, texts, "logout", "--params", str(path))[0] == 0
    assert run_cli(capsys, texts, "logout", "--params", str(service_path))[0] == 0
    check()


@pytest.mark.parametrize("imap_port", [_EchoingImap], indirect=True)
@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_mail_check_never_shows_an_echoed_token(emu, tmp_path, seen, capsys, imap_port, mechanism):
    secrets, texts, check = seen
    provider = OAuth2Provider(emu.params(cache=False))
    token = provider.get_token(MAIL_SCOPE)
    keep(secrets, token)
    token_file = tmp_path / "token.txt"
    token_file.write_text(token.access_token)
    code, out = run_cli(capsys, texts, "mail-check", "imap", "--token-file", str(token_file), "--host", "127.0.0.1",
                        "--port", str(imap_port), "--tls", "none", "--mechanism", mechanism)
    assert code == 1 and json.loads(out)["success"] is False
    check()
