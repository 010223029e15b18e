"""``python -m bench [--quick] [--only NAME ...] [--strict]``: run the comparisons, print the table, write the results.

A full run (no ``--quick``, ``--only`` or ``--runs``) writes ``bench/RESULTS.md``; any run writes its JSON (default
``bench/results/latest.json``, git-ignored) and the Markdown beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

from . import _claims, _files, _mail, _rows, _tokens
from ._emulator import EmulatorProcess
from ._measure import Row, missed, table
from ._newprocess import new_process
from ._notify import notifications
from ._report import machine, markdown

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
RESULTS_MD = HERE / "RESULTS.md"

#: Every comparison, by the name ``--only`` takes, in run order.
COMPARISONS: dict[str, Callable[[_rows.Context], list[Row]]] = {
    "newprocess": new_process,
    "token": _tokens.held_tokens,
    "token-miss": _tokens.memo_miss,
    "contention": _tokens.contention,
    "claims": _claims.claims_challenge,
    "by-id": _mail.by_id,
    "list": _mail.listing,
    "list-memory": _mail.streaming_memory,
    "refresh": _rows.shared_expiry,
    "notify": notifications,
    "files": _files.files,
}


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


def run(settings: _rows.Settings, only: Sequence[str] = (), out: Path = RESULTS,
        markdown_out: Optional[Path] = None) -> list[Row]:
    """Every comparison (or those named in ``only``) on one emulator; returns the rows and writes the results."""
    names = list(only) or list(COMPARISONS)
    started = time.perf_counter()
    compiled = byte_compile()
    sections: list[tuple[str, Callable[..., Any], list[Row]]] = []
    with tempfile.TemporaryDirectory(prefix="netkit-bench-") as folder:
        work = Path(folder)
        env = _rows.environment(work)
        with EmulatorProcess(str(work / "emulator"), messages=settings.messages) as emu:
            ctx = _rows.Context(emu=emu, settings=settings, work=work, env=env)
            for name in names:
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                began = time.perf_counter()
                sections.append((name, COMPARISONS[name], COMPARISONS[name](ctx)))
                print(f"bench: {name} took {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    rows = [row for _, _, found in sections for row in found]
    document = {
        "when": _rows.now(),
        "seconds": round(time.perf_counter() - started, 1),
        "settings": vars(settings),
        "byte_compiled": compiled,
        "machine": machine(),
        "rows": [row.to_json() for row in rows],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(sections, document)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    if markdown_out is not None:
        markdown_out.write_text(text, encoding="utf-8")
    return rows


def verdict(rows: Sequence[Row], strict: bool) -> int:
    """The exit status: 3 when ``strict`` and a target is missed, else 0."""
    return 3 if strict and missed(rows) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: few runs, small sizes")
    parser.add_argument("--only", nargs="+", choices=list(COMPARISONS), default=(),
                        help="run only these comparisons")
    parser.add_argument("--runs", type=int, help="timed runs per contestant (after the warm-up)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS})")
    parser.add_argument("--strict", action="store_true", help="exit with status 3 when a target is missed")
    args = parser.parse_args(argv)
    settings = _rows.Settings.quick() if args.quick else _rows.Settings()
    if args.runs:
        settings.runs = args.runs
    full = not (args.quick or args.only or args.runs)
    rows = run(settings, args.only, args.out, RESULTS_MD if full else None)
    print(table(rows))
    for row in rows:
        for note in row.notes:
            print(f"  {row.measure} vs {row.peer}: {note}")
    print(f"\nJSON: {args.out} (Markdown: {args.out.with_suffix('.md')}" + (f", {RESULTS_MD}" if full else "") + ")")
    failed = missed(rows)
    if failed:
        print(f"{len(failed)} target(s) missed: " + "; ".join(f"{r.measure} vs {r.peer}" for r in failed))
    return verdict(rows, args.strict)


if __name__ == "__main__":
    sys.exit(main())
