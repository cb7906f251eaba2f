"""The code base stays `ruff` clean (the style rules live in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_ruff_check_passes():
    ruff = Path(sys.executable).with_name("ruff")
    exe = str(ruff) if ruff.exists() else shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff not installed (pip install -e '.[dev]')")
    out = subprocess.run([exe, "check", str(Path(__file__).resolve().parents[1])], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
