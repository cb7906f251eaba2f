"""The speed benchmark's harness (benchmarks/speed.py): one small configuration runs
end to end and fills every column. No timing assertions: timings belong in the
benchmark's committed output, not in tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_speed_benchmark_runs_one_small_configuration(clips_dir, tmp_path):
    out_md = tmp_path / "speed.md"
    cmd = [sys.executable, "-m", "benchmarks.speed", "--models", "default", "--runtimes", "onnxruntime",
           "--methods", "dense 10x3,dense 10x3 seq,sfc r4", "--runs", "1", "--work", str(tmp_path / "work"),
           "--out", str(out_md), "--video", str(clips_dir / "arm_wrestling_kinetics.mp4")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out_md.with_suffix(".jsonl").read_text().splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert "error" not in row, row
        assert row["gmacs"] > 0 and row["total_ms"] >= row["network_ms"] > 0 and row["decode_ms"] > 0
        assert row["peak_mb"] >= row["loaded_mb"] > 0 and row["video_frames"] == 280
    sfc = next(r for r in rows if r["method"] == "sfc r4")
    dense = next(r for r in rows if r["method"] == "dense 10x3")
    seq = next(r for r in rows if r["method"] == "dense 10x3 seq")
    assert sfc["used_frames"] == 64 and dense["gmacs"] == seq["gmacs"] > 5 * sfc["gmacs"]
    table = out_md.read_text()
    summary = [line for line in table.splitlines() if line.startswith("| default | onnxruntime |")][0]
    cells = [c.strip() for c in summary.strip("|").split("|")]
    assert len(cells) == 13 and all(cells), summary  # every column of the SFC-vs-30-views row is filled
    assert out_md.with_suffix(".png").stat().st_size > 10_000
    # A second run measures nothing new (results and exports are kept).
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert again.returncode == 0 and (tmp_path / "work" / "results.jsonl").read_text().count("\n") == 3
