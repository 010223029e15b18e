"""Smoke test of the benchmark harness: ``python -m bench --quick`` runs every comparison and writes its results.

No timing is asserted (figures depend on the machine): only that every row has a figure, that the Markdown says
where it ran, and that ``--strict`` turns a missed target into a failing exit status.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench._measure import Row

ROOT = Path(__file__).resolve().parents[2]
#: Rows per comparison of a quick run.
ROWS = {"newprocess": 4, "token": 4, "token-miss": 1, "contention": 2, "claims": 1, "by-id": 2, "list": 2,
        "list-memory": 1, "refresh": 1, "notify": 1, "files": 4}


@pytest.mark.slow
def test_quick_run_gives_every_row_a_figure_and_writes_json(tmp_path):
    out = tmp_path / "latest.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    rows = document["rows"]
    expected = sum(ROWS.values())
    assert len(rows) == expected and set(ROWS) == set(bench_main.COMPARISONS)
    for row in rows:
        assert row["measure"] in done.stdout and row["target"] in done.stdout
        for side in ("ours", "theirs"):
            assert isinstance(row[side], (int, float)) and math.isfinite(row[side]) and row[side] >= 0, row
        if row["unit"] == "s" and row["samples"]["peer"]:
            assert row["ours"] > 0 and row["theirs"] > 0 and row["ratio"] is not None
        assert isinstance(row["met"], bool)
        assert row["samples"]["ours"]
    assert document["settings"]["runs"] >= 1 and document["machine"]["python"]
    assert document["machine"]["cpus"] and document["machine"]["packages"]["msal"]
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    for name in ROWS:
        assert f"### `{name}`" in text  # each comparison's description
    assert "CPUs" in text and "Packages:" in text


def _row(met: bool) -> Row:
    return Row.timed("a measure", "a peer", "≤ 1.0×", 1.0, [2.0 if not met else 0.5], [1.0])


def test_verdict_fails_a_strict_run_only_when_a_target_is_missed():
    assert not _row(met=False).met and _row(met=True).met
    assert bench_main.verdict([_row(True), _row(False)], strict=True) == 3
    assert bench_main.verdict([_row(True), _row(False)], strict=False) == 0
    assert bench_main.verdict([_row(True)], strict=True) == 0
    assert not Row.counted("requests", "peer", "≤ 2", 2, [1, 3], [8]).met  # the worst round counts
    assert not Row.absolute("p99", "≤ 5 ms", 0.005, 0.006, [0.001, 0.006]).met


def test_strict_exit_status_of_a_run_with_an_impossible_target(tmp_path, monkeypatch):
    """``main(["--strict", ...])`` end to end (emulator and all), one comparison made impossible to meet."""
    monkeypatch.setitem(bench_main.COMPARISONS, "impossible", lambda ctx: [_row(met=False)])
    monkeypatch.setattr(bench_main, "byte_compile", lambda: True)
    out = tmp_path / "r.json"
    argv = ["--quick", "--only", "impossible", "--out", str(out)]
    assert bench_main.main([*argv, "--strict"]) == 3
    assert bench_main.main(argv) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["rows"][0]["met"] is False
