"""Where to split DeepMind's I3D into SFC's head and tail: GMAC and measured time per split.

    python -m benchmarks.i3d_splits --model kinetics400-i3d/ [--repeats 3] [--frames 256]

SFC runs the head once over the whole video and the tail on a quarter of its steps, so the
split decides what SFC can save: I3D spends most of a clip's compute in its first stages.
For every split point: GMAC of the SFC pass (head, SFC module, tail) for `--frames` frames at
ratio 4, beside I3D's whole-video pass (every frame of a 10-s video at 25 fps, 248 frames)
and 30 views of 64 frames; and the measured time of that SFC pass (and of the whole-video
pass) on PyTorch (CPU, the inference copy `predict` runs), warm calls, each split in its own
fresh process, splits interleaved. Speed only: which split keeps accuracy is decided by training
(issue 32), on validation data. Writes benchmarks/results/i3d_splits.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.harness import (
    RESULTS,
    command,
    interleave,
    measured,
    median,
    python_code,
    run_json,
    utc_now,
    write_results,
)

WORKER = """
import json, statistics, sys, time
import numpy as np, torch
from sfc_sdk.model import load_model, resplit
from sfc_sdk.runtimes import create_runtime
model, split, frames, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
net, config = load_model(model)
if split != "whole":
    net, config = resplit(net, config, split)
runtime = create_runtime("torch", net, device="cpu")
x = np.random.default_rng(0).standard_normal((1, 3, frames, 224, 224)).astype(np.float32)
run = (lambda: runtime.run_views(x[:, :, :248])) if split == "whole" else (lambda: runtime.run_sfc(x, 4))
times = []
for _ in range(calls + 1):
    start = time.perf_counter()
    run()
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"split": split, "cold_ms": times[0], "ms": statistics.median(times[1:])}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per split")
    parser.add_argument("--calls", type=int, default=2, help="warm calls per process")
    parser.add_argument("--splits", help="comma-separated split points (default: every one)")
    parser.add_argument("--out", type=Path, default=RESULTS / "i3d_splits.md")
    args = parser.parse_args()

    from sfc_sdk.model import load_model, resplit
    from sfc_sdk.model.flops import sfc_gmacs, view_gmacs

    net, config = load_model(args.model)
    whole, dense = view_gmacs(net, 248, 224), 30 * view_gmacs(net, 64, 224)
    splits = args.splits.split(",") if args.splits else list(net.backbone.split_points)
    cost = {s: sfc_gmacs(resplit(net, config, s)[0], args.frames, 4, 224) for s in splits}
    arms = [*splits, "whole"]
    runs = interleave(arms, args.repeats, lambda split, rep: run_json(
        python_code(WORKER, args.model, split, args.frames, args.calls), cwd=None, what=split)["ms"],
        progress=lambda split, rep, ms: print(f"repeat {rep + 1}/{args.repeats} {split}: {ms:.0f} ms", file=sys.stderr))

    cmd = command("i3d_splits", f"--frames {args.frames}")
    lines = [f"{measured(cmd, when=utc_now() + ' UTC')}: the pulled kinetics400-i3d, SFC at ratio 4 "
             f"over {args.frames} frames at 224 px; I3D's whole-video pass {whole:.0f} GMAC (248 frames), 30 views "
             f"{dense:.0f} GMAC. Time: the SFC pass on PyTorch CPU, median over {args.repeats} fresh processes "
             f"(each the median of {args.calls} warm calls), splits interleaved. Speed only, untrained module.", "",
             "| head ends after | head GMAC | tail GMAC | SFC pass GMAC | vs 30 views | vs whole pass | ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for s in splits:
        c = cost[s]
        lines.append(f"| {s}{' (default)' if s == config.split else ''} | {c.head:.0f} | {c.tail:.0f} | "
                     f"{c.total:.0f} | {dense / c.total:.1f}x | {whole / c.total:.2f}x | {median(runs[s]):.0f} |")
    lines.append(f"| (I3D's whole-video pass, 248 frames) | | | {whole:.0f} | {dense / whole:.1f}x | 1.00x | "
                 f"{median(runs['whole']):.0f} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
