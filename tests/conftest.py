"""Suite-wide rules: loopback only, and one emulator shared by the tests that need it."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

_GUARD_DIR = Path(__file__).parent / "_guard"
sys.path.insert(0, str(_GUARD_DIR))
import loopback_guard  # noqa: E402
import secrets_guard  # noqa: E402

loopback_guard.install()
os.environ["NETKIT_LOOPBACK_ONLY"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_GUARD_DIR), os.environ.get("PYTHONPATH")]))
# No test may open a real browser, nor touch the user's own token cache.
os.environ["BROWSER"] = "false"
_CACHE_DIR = Path(os.environ.get("PYTEST_NETKIT_TMP", "/tmp")) / f"netkit-msal-test-cache-{os.getpid()}"
os.environ["NETKIT_MSAL_CACHE_DIR"] = str(_CACHE_DIR)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator for the session, auto-approving sign-ins, with its state in a temporary folder."""
    from netkit_msal.emulator import Emulator

    with Emulator(state_dir=tmp_path_factory.mktemp("emulator-state")) as emu:
        yield emu


# --- secrets: every test runs with all loggers at DEBUG, and its logs and output are searched ---

_records = secrets_guard.RecordKeeper()
logging.getLogger().addHandler(_records)
logging.getLogger().setLevel(logging.DEBUG)


@pytest.fixture(autouse=True)
def _package_logger_restored():
    """``enableDebugLog: true`` (a test's, or a fuzzer's draw) adds a handler to the package logger for the whole
    process, as it does for a user: put the logger back after each test so that no test sees another's."""
    logger = logging.getLogger("netkit_msal")
    level, handlers = logger.level, list(logger.handlers)
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)


def pytest_configure(config):
    config.addinivalue_line("markers", "prints_secrets: the test asked for a token to be printed")


#: Folders whose tests are slow and do not depend on the Python version (a real browser, notebook kernels):
#: marked ``slow`` so that CI runs them once, on the default Python.
_SLOW_FOLDERS = ("web", "samples")


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).parent
    for item in items:
        folder = Path(str(item.fspath)).relative_to(tests).parts[0] if tests in Path(str(item.fspath)).parents else ""
        if folder in _SLOW_FOLDERS or item.get_closest_marker("big"):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if call.when == "setup":
        _records.clear()
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or report.failed or item.get_closest_marker("prints_secrets"):
        return
    texts = _records.texts + [content for name, content in report.sections if name.startswith("Captured")]
    found = secrets_guard.find_secret(texts)
    if found:
        report.outcome = "failed"
        report.longrepr = f"secrets guard: {found} appeared in this test's logs or output"
