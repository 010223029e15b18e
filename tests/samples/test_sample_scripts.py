"""Every script in samples/ runs as a user would start it, bounded, on the emulator (and one on --params)."""

from __future__ import annotations

import ast
import email
import json
import subprocess
import sys

import pytest
import secrets_guard
from samples_support import SAMPLES, require_server

SCRIPTS = sorted(path.name for path in SAMPLES.glob("*.py") if not path.name.startswith("_"))


@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    """An emulator of this module's own playing "your tenant" for --params (the samples start their own)."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("tenant")) as emu:
        yield emu


def run(script: str, *args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(SAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert secrets_guard.find_secret([done.stdout, done.stderr]) is None, f"{script} printed a secret"
    return done


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_says_what_it_needs_from_an_app_registration(script):
    doc = ast.get_docstring(ast.parse((SAMPLES / script).read_text(encoding="utf-8")))
    assert doc and "App registration" in doc and "--params" in doc


def test_send_report_on_the_emulator(emulator_env, tmp_path):
    attachment = tmp_path / "figures.txt"
    attachment.write_text("north 1200\n")
    out = ok(run("send_report.py", "--to", "megan@contoso.example", "--subject", "Report 42",
                 "--attach", str(attachment), env=emulator_env, cwd=tmp_path))
    assert "Using the embedded Microsoft 365 emulator" in out
    assert "Sending 'Report 42' as adele@contoso.example to megan@contoso.example (app-only token)" in out
    assert "Graph: Mail sent (HTTP 202)" in out
    assert "Found in megan@contoso.example's inbox: 'Report 42', attachments: True" in out


def test_send_report_with_a_parameter_file(tenant, emulator_env, tmp_path):
    params = tmp_path / "app.json"
    params.write_text(json.dumps(tenant.params("service", cache=False)))
    before = tenant.stats().get("sendMail", 0)
    out = ok(run("send_report.py", "--params", str(params), "--user", "lynne@contoso.example", "--check",
                 "--subject", "Report from cron", env=emulator_env, cwd=tmp_path))
    assert f"Using your tenant: parameters from {params}" in out
    assert "Found in lynne@contoso.example's inbox: 'Report from cron'" in out
    assert tenant.stats().get("sendMail", 0) == before + 1


def test_send_report_on_a_tenant_needs_a_mailbox_and_reports_bad_parameters(tenant, emulator_env, tmp_path):
    params = tmp_path / "app.json"
    params.write_text(json.dumps(tenant.params("service", cache=False)))
    no_user = run("send_report.py", "--params", str(params), env=emulator_env, cwd=tmp_path)
    assert no_user.returncode == 2 and "--user is required on your tenant" in no_user.stderr

    missing = run("send_report.py", "--params", str(tmp_path / "nowhere.json"), env=emulator_env, cwd=tmp_path)
    assert missing.returncode == 1 and "cannot read the parameter file" in missing.stderr
    assert "Traceback" not in missing.stderr

    env = {**emulator_env, "AZURE_CLIENT_ID": "5a1c9e3d-2b4f-4e6a-8c0d-1e2f3a4b5c6d", "AZURE_TENANT_ID": "common",
           "AZURE_CLIENT_SECRET": "not-a-real-secret"}
    bad = run("send_report.py", "--user", "someone@contoso.example", env=env, cwd=tmp_path)
    assert "Using your tenant: parameters from the AZURE_* environment variables" in bad.stdout
    assert bad.returncode == 1 and "send_report: " in bad.stderr and "tenant" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_export_folder_writes_every_mail_with_a_progress_bar(emulator_env, tmp_path):
    out = ok(run("export_folder.py", "--out", "mails", "--page-size", "10", env=emulator_env, cwd=tmp_path))
    assert "Exporting 36 mails of 'Inbox' to mails/" in out
    assert "Wrote 36 .eml files in 4 page(s) of up to 10" in out
    files = sorted((tmp_path / "mails").glob("*.eml"))
    assert len(files) == 36
    subjects = [email.message_from_bytes(path.read_bytes())["Subject"] for path in files]
    assert {"Quarterly retail figures", "Parking badge renewal"} <= set(subjects)
    assert sum(subject.startswith("Generated message") for subject in subjects) == 30


def test_export_folder_progress_and_limit(emulator_env, tmp_path):
    done = run("export_folder.py", "--out", str(tmp_path / "five"), "--limit", "5", env=emulator_env, cwd=tmp_path)
    assert "Wrote 5 .eml files" in ok(done)
    assert len(list((tmp_path / "five").glob("*.eml"))) == 5
    bar = done.stderr.strip().splitlines()
    assert bar[-1] == "[" + "#" * 30 + "] 5/5 mails"  # not a terminal: a line per step of 10%


@pytest.mark.parametrize("mode", [["--timer", "0.2"], ["--push", "http://127.0.0.1:0"]], ids=["pull", "push"])
def test_watch_inbox_sees_each_new_mail_and_stops(emulator_env, tmp_path, mode):
    out = ok(run("watch_inbox.py", *mode, env=emulator_env, cwd=tmp_path))
    how = "pull every 0.2 s" if mode[0] == "--timer" else "push to http://127.0.0.1:"
    assert f"Watching your inbox ({how}" in out
    for number in (1, 2, 3):
        assert f"new: 'Status update {number}' from megan@contoso.example" in out
    assert "Done: 3 new mails" in out


def test_worker_fleet_shares_one_app_token_through_redis(emulator_env, tmp_path):
    require_server("redis-server")
    out = ok(run("worker_fleet.py", "--workers", "4", env=emulator_env, cwd=tmp_path))
    assert out.count("listed 6 users") == 4
    assert "4 of 4 workers done" in out
    assert "Token requests at the identity platform: 1 for 4 workers" in out


def test_scripts_take_the_tenant_from_netkit_params(tenant, emulator_env, tmp_path):
    """A signed-in script on "your tenant" from $NETKIT_PARAMS, signing in with a device code (no browser here)."""
    tenant.set_device_code_interval(1)
    params = tmp_path / "me.json"
    params.write_text(json.dumps(tenant.params("signedIn", flow="deviceCode", loginHint="diego@contoso.example",
                                               cache=False)))
    done = run("watch_inbox.py", "--idle", "1", env={**emulator_env, "NETKIT_PARAMS": str(params)}, cwd=tmp_path)
    out = ok(done)
    assert f"Using your tenant: parameters from {params}" in out
    assert "Watching your inbox (pull every 30 s)" in out and "Done: 0 new mails" in out
    assert "enter the code" in done.stderr.lower()  # the device code message, for the person


def test_upload_report_puts_a_file_on_onedrive_and_reads_it_back(emulator_env, tmp_path):
    out = ok(run("upload_report.py", "--size", str(5 * 1024 * 1024), env=emulator_env, cwd=tmp_path))
    assert "Using the embedded Microsoft 365 emulator" in out
    assert "to adele@contoso.example's OneDrive at /Reports/report-" in out
    assert "upload: 100%" in out and "download: 100%" in out
    assert "Graph: File uploaded (HTTP 201)" in out and "quickXorHash verified" in out
    assert "Read back: identical" in out and "/Reports holds 1 item(s)" in out
    mine = tmp_path / "q4.csv"
    mine.write_text("region,sales\nnorth,1200\n")
    site = ok(run("upload_report.py", "--site", "root", "--file", str(mine), "--folder", "/Shared",
                  env=emulator_env, cwd=tmp_path))
    assert "Uploading q4.csv to site root at /Shared/q4.csv" in site and "Read back: identical" in site
