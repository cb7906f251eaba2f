"""Videos per second over the 70 Weizmann clips: one after another at an earlier revision
of the SDK against one after another and `predict_batch` now, the same model in both.

    python -m benchmarks.batch_throughput                     # against 25b1532 (main when issue 17 was filed)
    python -m benchmarks.batch_throughput --before REV --rounds 3

The earlier revision runs from a git worktree of this repository (made in a temporary
folder, removed at the end) with the bundled model of the current checkout, so only the
SDK differs. Each arm is a fresh process after one warm-up pass over the clips; arms are
interleaved over --rounds rounds and the median is reported. Writes
benchmarks/results/batch_throughput.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import (
    DEFAULT_MODEL,
    REPO,
    RESULTS,
    WEIZMANN,
    command,
    measured,
    median,
    python_code,
    run_json,
    write_results,
)

CLIPS = WEIZMANN
MODEL = DEFAULT_MODEL

WORKER = """
import glob, json, sys, time
from sfc_sdk import Recognizer
rec = Recognizer(sys.argv[2], device="cpu")
clips = sorted(glob.glob(sys.argv[3] + "/*/*.avi"))
for c in clips:
    rec.predict(c)
start = time.perf_counter()
preds = rec.predict_batch(clips) if sys.argv[1] == "batch" else [rec.predict(c) for c in clips]
print(json.dumps({"vps": len(clips) / (time.perf_counter() - start), "labels": [p.label for p in preds]}))
"""


def run(mode: str, sdk_parent: Path | None, model: Path) -> dict:
    env = dict(os.environ)
    if sdk_parent is not None:  # import sfc_sdk from the earlier revision's tree
        env["PYTHONPATH"] = str(sdk_parent)
    return run_json(python_code(WORKER, mode, model, CLIPS), env=env, cwd=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="25b1532")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "batch_throughput.md")
    args = parser.parse_args()
    if not CLIPS.is_dir():
        sys.exit(f"error: Weizmann data not found at {CLIPS}")
    with tempfile.TemporaryDirectory(prefix="sfc-before-") as tmp:
        tree, parent = Path(tmp) / "tree", Path(tmp) / "path"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(tree), args.before],
                       check=True, capture_output=True)
        try:
            parent.mkdir()
            (parent / "sfc_sdk").symlink_to(tree / "sdk")
            arms = {f"serial at {args.before}": ("serial", parent), "serial now": ("serial", None),
                    "predict_batch now": ("batch", None)}
            results: dict[str, list[dict]] = {name: [] for name in arms}
            for r in range(args.rounds):
                for name, (mode, sdk) in arms.items():
                    results[name].append(run(mode, sdk, MODEL))
                print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {v[-1]['vps']:.1f}" for n, v in
                                                                    results.items()), flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    vps = {name: median(x["vps"] for x in runs) for name, runs in results.items()}
    base = vps[f"serial at {args.before}"]
    now = results["serial now"][0]["labels"]
    cmd = command("batch_throughput", f"--before {args.before} --rounds {args.rounds}")
    lines = [f"{measured(cmd)}: the 70 Weizmann clips, the bundled model of the "
             f"current checkout in every arm; median of {args.rounds} fresh-process rounds, arms interleaved.", "",
             f"| arm | videos/s | vs serial at {args.before} | vs serial now | labels as serial now |",
             "|---|---:|---:|---:|---:|"]
    for name, runs in results.items():
        same = sum(a == b for a, b in zip(runs[0]["labels"], now, strict=True))
        lines.append(f"| {name} | {vps[name]:.1f} | {vps[name] / base:.2f}x | {vps[name] / vps['serial now']:.2f}x "
                     f"| {same}/{len(now)} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
