"""Every notebook in samples/ runs top to bottom on the emulator, and prints what it promises."""

from __future__ import annotations

import sys

import nbformat
import pytest
import secrets_guard
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from samples_support import SAMPLES, require_server

NOTEBOOKS = sorted(path.name for path in SAMPLES.glob("*.ipynb"))
KERNEL = "netkit-msal-samples"
#: What each notebook must print (on the emulator's seeded tenant).
EXPECTED = {
    "01_quick_start.ipynb": [
        "signed in as: adele@contoso.example", "Hello, Adele Vance <adele@contoso.example>",
        "6 mails on the first page of the inbox", "Quarterly retail figures", "msgraph-sdk says: Adele Vance",
        "msgraph-sdk read 6 inbox messages",
    ],
    "02_mail_imap_smtp.ipynb": [
        "to adele@contoso.example; refused recipients: none", "found over IMAP: 'Hello over SMTP",
        "from adele@contoso.example",
    ],
    "03_service_app_certificate.ipynb": [
        "identity type: app", "User.Read.All", "user in the token: None", "page 1: 3 users, last page: False",
        "Megan Bowen", "6 users in 2 pages",
    ],
    "04_office365_triage_calendar.ipynb": [
        "mailbox of Adele Vance", "3 unread mails", "moved 'Quarterly retail figures' to 'To review'",
        "replied to 'Team lunch on Friday': Reply sent", "triage done: 2 moved, 1 replied",
        "To review: 'Marketing plan draft' flag=flagged categories=['Orange category']",
        "unread left in the inbox: 0", "created event: Event created", "Review the figures",
        "pull every 2 s: eventCreated, our event: True", "pull every 2 s: eventDeleted, our event: True",
        "eventCreated, our event: True", "eventDeleted, our event: True", "push to http://127.0.0.1:",
    ],
}


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory) -> KernelSpecManager:
    """A kernel spec for this interpreter, so the kernel runs the venv's Python whatever else is installed."""
    from ipykernel.kernelspec import write_kernel_spec

    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(folder / KERNEL, overrides={"display_name": "netkit-msal samples",
                                                  "argv": [sys.executable, "-m", "ipykernel_launcher",
                                                           "-f", "{connection_file}"]})
    return KernelSpecManager(kernel_dirs=[str(folder)])


def execute(notebook: nbformat.NotebookNode, kernel_specs: KernelSpecManager) -> str:
    """Execute a notebook in the samples folder (as Jupyter would) and return everything it printed."""
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    NotebookClient(notebook, km=manager, timeout=120, resources={"metadata": {"path": str(SAMPLES)}}).execute()
    return "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.outputs)


def test_kernels_run_this_python_under_the_loopback_guard(kernel_specs):
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import socket, sys\n"
        "print('python', sys.executable)\n"
        "try:\n"
        "    socket.getaddrinfo('login.microsoftonline.com', 443)\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n")])
    printed = execute(probe, kernel_specs)
    assert f"python {sys.executable}" in printed
    assert "refused: tests may reach loopback only" in printed


def test_every_notebook_has_expectations():
    assert NOTEBOOKS and sorted(EXPECTED) == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_emulator(name, kernel_specs, emulator_env):
    if name.startswith("02_"):
        require_server("dovecot")
    printed = execute(nbformat.read(SAMPLES / name, as_version=4), kernel_specs)
    assert "Using the embedded Microsoft 365 emulator" in printed
    missing = [text for text in EXPECTED[name] if text not in printed]
    assert not missing, f"{name} did not print {missing}; it printed:\n{printed}"
    assert secrets_guard.find_secret([printed]) is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean_and_says_what_it_needs(name):
    notebook = nbformat.read(SAMPLES / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "outputs must be stripped"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "App registration" in first.source
    assert "NETKIT_PARAMS" in first.source
