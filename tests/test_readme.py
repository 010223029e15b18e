"""The README's examples that need no tenant run as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block_after(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_five_line_emulator_example_prints_the_signed_in_user(tmp_path):
    code = _python_block_after("### Against the emulator, in five lines")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={**os.environ, "NETKIT_MSAL_EMULATOR_DIR": str(tmp_path),
                                               "NETKIT_MSAL_CACHE_DIR": str(tmp_path / "cache")})  # a new machine
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Adele Vance"
