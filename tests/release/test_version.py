"""One version, read alike by the package, the CLI and the installed metadata; the Pythons claimed are the
ones CI runs, and the CHANGELOG has a section for the version."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import netkit_msal

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)$")
VERSION = netkit_msal.__version__


def _claimed(classifiers: list[str]) -> list[tuple[int, int]]:
    found = [CLASSIFIER.match(c) for c in classifiers]
    return sorted(tuple(int(n) for n in m.group(1).split(".")) for m in found if m)  # type: ignore[misc]


def test_version_is_pep_440_and_the_module_attribute():
    assert str(Version(VERSION)) == VERSION
    from netkit_msal._version import __version__

    assert VERSION is __version__ and "__version__" in dir(netkit_msal)


def test_cli_prints_the_version():
    done = subprocess.run([sys.executable, "-m", "netkit_msal.cli", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"netkit-msal {VERSION}"


def test_installed_metadata_agrees_when_this_copy_is_the_installed_one():
    """In the built wheel's venv (and any non-editable install) the metadata is this copy's."""
    dist = metadata.distribution("netkit-msal")
    installed = Path(str(dist.locate_file("netkit_msal/__init__.py"))).resolve()
    if installed != Path(netkit_msal.__file__).resolve():
        pytest.skip("netkit_msal is imported from a checkout, not from the installed distribution")
    assert dist.version == VERSION
    assert SpecifierSet(dist.metadata["Requires-Python"]).contains(platform.python_version())
    claimed = _claimed(dist.metadata.get_all("Classifier") or [])
    assert sys.version_info[:2] in claimed


@pytest.mark.skipif("NETKIT_MSAL_EXPECT_INSTALLED_IN" not in os.environ, reason="CI's installed-wheel run sets it")
def test_the_installed_copy_is_the_one_imported():
    """.ci/run tests the built wheel: no checkout may shadow it."""
    venv = Path(os.environ["NETKIT_MSAL_EXPECT_INSTALLED_IN"]).resolve()
    assert venv in Path(netkit_msal.__file__).resolve().parents
    assert "site-packages" in Path(netkit_msal.__file__).parts


@pytest.mark.skipif(not PYPROJECT.is_file(), reason="needs the checkout's pyproject.toml")
def test_pyproject_claims_a_run_of_pythons_from_requires_python_and_takes_the_version_from_one_place():
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest itself depends on tomli there
        import tomli as tomllib  # type: ignore[no-redef]

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    floor = re.fullmatch(r">=\s*3\.(\d+)", project["requires-python"])
    assert floor, project["requires-python"]
    claimed = _claimed(project["classifiers"])
    assert claimed == [(3, minor) for minor in range(int(floor.group(1)), claimed[-1][1] + 1)]
    assert sys.version_info[:2] in claimed, f"running on a Python the package does not claim: {sys.version}"


@pytest.mark.skipif(not (ROOT / "CHANGELOG.md").is_file(), reason="needs the checkout's CHANGELOG.md")
def test_changelog_has_an_unreleased_section_and_one_for_this_version():
    headings = re.findall(r"^## \[?([^\]\s]+)\]?", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert headings[0] == "Unreleased" and VERSION in headings
