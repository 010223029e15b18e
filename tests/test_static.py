"""Static checks as CI runs them (issue 19): mypy and ruff, configured in pyproject.toml, pass on the package and
the tests. They run in subprocesses with this interpreter's (the venv's) copies, from the project root, and a
failure shows their output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import netkit_msal

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str, timeout: float) -> None:
    try:
        done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{command[0]} did not finish within {timeout:.0f} s:\n{error.stdout or ''}")
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.slow  # once, on the default Python: a new venv's first run takes minutes
@pytest.mark.timeout(1500)  # a first run (no .mypy_cache) reads msgraph-sdk's thousands of modules
def test_mypy_passes_on_the_package() -> None:
    run("mypy", "--no-error-summary", timeout=1400)  # files and options: [tool.mypy] in pyproject.toml


def test_ruff_passes_on_the_package_and_the_tests() -> None:
    run("ruff", "check", "--no-cache", "netkit_msal", "tests", timeout=240)


def test_the_package_says_it_is_typed() -> None:
    """py.typed ships (package data), so users' type checkers read our annotations."""
    assert (Path(netkit_msal.__file__).parent / "py.typed").is_file()
    assert 'netkit_msal = ["py.typed"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_every_public_name_is_in_all() -> None:
    """``__all__`` is spelled out for type checkers and linters; the lazily loaded names must all be in it."""
    lazy = set(netkit_msal._LAZY)
    assert lazy <= set(netkit_msal.__all__), sorted(lazy - set(netkit_msal.__all__))
    assert len(netkit_msal.__all__) == len(set(netkit_msal.__all__))
