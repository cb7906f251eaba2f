"""Where to split DeepMind's I3D into SFC's head and tail: GMAC and measured time per split.

    python benchmarks/i3d_splits.py --model kinetics400-i3d/ [--repeats 3] [--frames 256]

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
import datetime
import json
import subprocess
import sys
from pathlib import Path

from machine import describe_machine

REPO = Path(__file__).resolve().parents[1]
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
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "i3d_splits.md")
    args = parser.parse_args()

    from sfc_sdk.model import load_model, resplit
    from sfc_sdk.model.flops import sfc_gmacs, view_gmacs

    net, config = load_model(args.model)
    whole, dense = view_gmacs(net, 248, 224), 30 * view_gmacs(net, 64, 224)
    splits = args.splits.split(",") if args.splits else list(net.backbone.split_points)
    cost = {s: sfc_gmacs(resplit(net, config, s)[0], args.frames, 4, 224) for s in splits}
    arms = [*splits, "whole"]
    measured: dict[str, list[float]] = {s: [] for s in arms}
    for rep in range(args.repeats):
        for split in arms[rep % len(arms):] + arms[:rep % len(arms)]:
            out = subprocess.run([sys.executable, "-c", WORKER, str(args.model), split, str(args.frames),
                                  str(args.calls)], capture_output=True, text=True, check=True)
            measured[split].append(json.loads(out.stdout.splitlines()[-1])["ms"])
            print(f"repeat {rep + 1}/{args.repeats} {split}: {measured[split][-1]:.0f} ms", file=sys.stderr)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    lines = [f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {describe_machine()}, "
             f"`python benchmarks/i3d_splits.py --frames {args.frames}`: the pulled kinetics400-i3d, SFC at ratio 4 "
             f"over {args.frames} frames at 224 px; I3D's whole-video pass {whole:.0f} GMAC (248 frames), 30 views "
             f"{dense:.0f} GMAC. Time: the SFC pass on PyTorch CPU, median over {args.repeats} fresh processes "
             f"(each the median of {args.calls} warm calls), splits interleaved. Speed only, untrained module.", "",
             "| head ends after | head GMAC | tail GMAC | SFC pass GMAC | vs 30 views | vs whole pass | ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for s in splits:
        c = cost[s]
        lines.append(f"| {s}{' (default)' if s == config.split else ''} | {c.head:.0f} | {c.tail:.0f} | "
                     f"{c.total:.0f} | {dense / c.total:.1f}x | {whole / c.total:.2f}x | {median(measured[s]):.0f} |")
    lines.append(f"| (I3D's whole-video pass, 248 frames) | | | {whole:.0f} | {dense / whole:.1f}x | 1.00x | "
                 f"{median(measured['whole']):.0f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
