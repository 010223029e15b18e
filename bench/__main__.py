"""``python -m bench [--quick] [--only NAME ...] [--out FILE]``: run the comparisons, print the table, write JSON."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from . import _rows
from ._emulator import EmulatorProcess
from ._measure import Row, markdown, table
from ._newprocess import new_process

_rows.COMPARISONS.setdefault("newprocess", new_process)  # issue 20's new-process row (replaces "cli")

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def byte_compile() -> bool:
    """Byte-compile netkit_msal as ``pip install`` does, so that both sides start from bytecode.

    The peers were byte-compiled when pip installed them. An editable install is compiled on first import only
    where Python may write bytecode: with ``PYTHONDONTWRITEBYTECODE`` set (as on the team's machines), every new
    process would compile our sources again (~15 ms) and the start-up rows would measure the compiler.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("netkit_msal")
    folders = list(spec.submodule_search_locations or []) if spec else []
    return all(compileall.compile_dir(folder, quiet=1) for folder in folders)


def run(settings: _rows.Settings, only: Sequence[str] = (), out: Path = RESULTS) -> list[Row]:
    """Every comparison (or those named in ``only``) on one emulator; returns the rows and writes ``out``."""
    names = list(only) or list(_rows.COMPARISONS)
    started = time.perf_counter()
    compiled = byte_compile()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="netkit-bench-") as folder:
        work = Path(folder)
        env = _rows.environment(work)
        with EmulatorProcess(str(work / "emulator"), messages=settings.messages) as emu:
            ctx = _rows.Context(emu=emu, settings=settings, work=work, env=env)
            for name in names:
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                rows.extend(_rows.COMPARISONS[name](ctx))
    document = {
        "when": _rows.now(),
        "seconds": round(time.perf_counter() - started, 1),
        "settings": vars(settings),
        "byte_compiled": compiled,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": _cpus()},
        "rows": [row.to_json() for row in rows],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(rows, document), encoding="utf-8")
    return rows


def _cpus() -> Optional[int]:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: few runs, small mailbox")
    parser.add_argument("--only", nargs="+", choices=list(_rows.COMPARISONS), default=(),
                        help="run only these comparisons")
    parser.add_argument("--runs", type=int, help="timed runs per contestant (after the warm-up)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS})")
    parser.add_argument("--strict", action="store_true", help="exit with status 3 when a target is missed")
    args = parser.parse_args(argv)
    settings = _rows.Settings.quick() if args.quick else _rows.Settings()
    if args.runs:
        settings.runs = args.runs
    rows = run(settings, args.only, args.out)
    print(table(rows))
    for row in rows:
        for note in row.notes:
            print(f"  {row.measure} vs {row.peer}: {note}")
    print(f"\nJSON: {args.out} (Markdown: {args.out.with_suffix('.md')})")
    missed = [row for row in rows if not row.met]
    if missed:
        print(f"{len(missed)} target(s) missed: " + "; ".join(f"{r.measure} vs {r.peer}" for r in missed))
    return 3 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
