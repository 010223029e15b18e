"""Smoke test of the benchmark harness: ``python -m bench --quick`` runs every comparison and writes its JSON.

No timing is asserted (figures depend on the machine): only that every row has a figure on both sides.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the other Pythons' CI runs leave it out

ROOT = Path(__file__).resolve().parents[2]
# import x2, warm get_token x2, CLI, listing x2, by id, shared expiry, notification delay, file upload and download
ROWS = 12


def test_quick_run_gives_every_row_a_figure_and_writes_json(tmp_path):
    out = tmp_path / "latest.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    rows = document["rows"]
    assert len(rows) == ROWS
    for row in rows:
        assert row["measure"] in done.stdout and row["target"] in done.stdout
        for side in ("ours", "theirs"):
            assert isinstance(row[side], (int, float)) and math.isfinite(row[side]) and row[side] >= 0, row
        if row["unit"] == "s":
            assert row["ours"] > 0 and row["theirs"] > 0 and row["ratio"] is not None
        assert isinstance(row["met"], bool)
        assert row["samples"]["ours"] and row["samples"]["peer"]
    assert document["settings"]["runs"] >= 1 and document["machine"]["python"]
