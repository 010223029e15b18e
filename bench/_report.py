"""``bench/RESULTS.md``, written by the run itself: the machine, the versions, the table, what each row compares.

Nothing in it is typed by hand: the text of each comparison is its function's docstring, the figures are the
run's, so a rerun replaces the whole file.
"""

from __future__ import annotations

import inspect
import os
import platform
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, Optional

from ._measure import Row, table

#: The distributions whose versions the figures depend on.
PACKAGES = ("netkit-msal", "msal", "msal-extensions", "azure-identity", "azure-core", "msgraph-sdk", "msgraph-core",
            "microsoft-kiota-http", "o365", "requests", "httpx", "cryptography")

HOW = """\
How it is measured
- Ours and each peer run in turn in one loop (ours, peer, peer, ours, ...), warm-up rounds dropped. Timed figures
  are medians, with the spread (min–max over the timed runs) in brackets; counted figures are the worst round.
- The emulator runs in its own process, as a remote service would: its work never shares the measured client's
  interpreter lock. Request counts are the emulator's own (`Emulator.stats()` through its admin route).
- netkit-msal is byte-compiled first, as `pip install` does for every package (the peers were, at install).
- Each peer is built as its documentation shows, changed only to reach the emulator: authority/base URL, trust in
  the emulator's CA, MSAL instance discovery off (see `bench/_peers.py`).
- `--strict` exits with status 3 when a row's target is missed; `--only NAME ...` runs some comparisons.
"""


def machine() -> dict[str, Any]:
    """Where the run happened: OS, CPU model and count, Python, and the versions of the packages compared."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": f"{platform.python_implementation()} {platform.python_version()}",
            "platform": platform.platform(), "os": _os_name(), "cpu": _cpu_model(), "cpus": _cpus(),
            "packages": versions}


def _cpus() -> Optional[int]:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        return platform.system()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown(sections: Sequence[tuple[str, Callable[..., Any], Sequence[Row]]], document: dict[str, Any]) -> str:
    """The whole of RESULTS.md: ``sections`` are (name, comparison function, its rows) in run order."""
    rows = [row for _, _, found in sections for row in found]
    box = document["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in box["packages"].items() if version)
    settings = ", ".join(f"{key}={value}" for key, value in document["settings"].items())
    missed = [row for row in rows if not row.met]
    out = ["# netkit-msal against its peers", "",
           "Written by `./dev bench` (`python -m bench`); do not edit: rerun it. Compare ratios, not absolute "
           "figures: they depend on the machine.", "",
           f"- Run: {document['when']}, {document['seconds']} s; settings: {settings}",
           f"- Machine: {box['os']} ({box['platform']}), {box['cpu']}, {box['cpus']} CPUs",
           f"- Python: {box['python']}; byte-compiled: {document['byte_compiled']}",
           f"- Packages: {packages}",
           f"- Targets: {len(rows) - len(missed)} of {len(rows)} met"
           + (" (missed: " + "; ".join(f"{r.measure} vs {r.peer}" for r in missed) + ")" if missed else ""),
           "", HOW, "## Results", "", table(rows), "", "## What each comparison does", ""]
    for name, function, found in sections:
        out += [f"### `{name}`", "", inspect.getdoc(function) or "(no description)", ""]
        for row in found:
            out.extend(f"- {row.measure} vs {row.peer}: {note}" for note in row.notes)
        if any(row.notes for row in found):
            out.append("")
    return "\n".join(out).rstrip() + "\n"
