"""Can I3D's stem head run through time in chunks, exactly, in less memory and no more time?

    python -m benchmarks.i3d_head_memory --model kinetics400-i3d/ [--frames 256] [--chunks 16,32] [--repeats 3]

A design question for SFC's memory (docs/benchmarks/i3d.md): the head runs once over all
frames, and after I3D's first convolution that is one 64 x T/2 x 112 x 112 activation. This
script runs the stem head (Conv3d_1a .. MaxPool3d_3a, BatchNorm folded as the PyTorch
runtime folds it, channels-last) on the same random input, the same code either way:

    whole      one chunk: each layer over the whole input, as `forward_head` does
    chunk:N    N head steps at a time, with no step computed twice: Conv3d_1a, MaxPool3d_2a
               and Conv3d_2b per chunk into one buffer (Conv3d_1a's "SAME" padding built from
               the neighbouring frames), then Conv3d_2c (one step of context each side) and
               MaxPool3d_3a per chunk. Max pools pad with 0, which equals -inf after a ReLU.

Each arm runs in a fresh process: *peak MB* is its peak RSS minus its RSS with the model
loaded and the input made; *ms* the median of 3 warm calls. *Max diff*: the largest
difference from `forward_head` (BatchNorm not folded) over the whole output: float rounding.
A prototype for the runtime, not the SDK's code path.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from benchmarks.harness import (
    RESULTS,
    command,
    interleave,
    markdown_table,
    measured,
    median,
    module_command,
    run_json,
    utc_now,
    write_results,
)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _stem(model_dir: str):
    """The stem's convolutions with BatchNorm folded in, channels-last, and the backbone."""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    from sfc_sdk.model import load_model

    model, _ = load_model(model_dir)
    bb = model.eval().backbone

    def fused(unit):
        return fuse_conv_bn_eval(unit.conv, unit.bn).to(memory_format=torch.channels_last_3d)

    return bb, fused(bb.Conv3d_1a_7x7), fused(bb.Conv3d_2b_1x1), fused(bb.Conv3d_2c_3x3)


def head_in_chunks(x, c1a, c2b, c2c, chunk: int):
    """The stem head over (1, 3, T, 224, 224) `x`, `chunk` head steps at a time (see above)."""
    import torch
    import torch.nn.functional as F

    from sfc_sdk.model.backbones.i3d import tf_same_pads

    def pool(y):  # MaxPool 1x3x3, stride (1, 2, 2), "SAME"; its input is a ReLU's output
        ph, pw = tf_same_pads(y.shape[3], 3, 2), tf_same_pads(y.shape[4], 3, 2)
        return F.max_pool3d(F.pad(y, (*pw, *ph, 0, 0)), (1, 3, 3), (1, 2, 2))

    frames, steps = x.shape[2], x.shape[2] // 2
    ph, pw, pt = tf_same_pads(x.shape[3], 7, 2), tf_same_pads(x.shape[4], 7, 2), tf_same_pads(frames, 7, 2)
    middle = out = None
    for a in range(0, steps, chunk):  # Conv3d_1a outputs [a, b) read frames [2a - pad, 2(b - 1) - pad + 7)
        b = min(steps, a + chunk)
        lo, hi = 2 * a - pt[0], 2 * (b - 1) - pt[0] + 7
        xs = F.pad(x[:, :, max(lo, 0):min(hi, frames)], (*pw, *ph, max(0, -lo), max(0, hi - frames)))
        y = F.relu(c2b(pool(F.relu(F.conv3d(xs, c1a.weight, c1a.bias, stride=2)))))
        if middle is None:
            middle = torch.empty((1, y.shape[1], steps, *y.shape[3:]), memory_format=torch.channels_last_3d)
        middle[:, :, a:b] = y
    for a in range(0, steps, chunk):  # Conv3d_2c (3x3x3, padding 1) outputs [a, b) read [a - 1, b + 1)
        b = min(steps, a + chunk)
        ys = F.pad(middle[:, :, max(a - 1, 0):min(b + 1, steps)], (0, 0, 0, 0, int(a == 0), int(b == steps)))
        y = pool(F.relu(F.conv3d(ys, c2c.weight, c2c.bias, padding=(0, 1, 1))))
        if out is None:
            out = torch.empty((1, y.shape[1], steps, *y.shape[3:]), memory_format=torch.channels_last_3d)
        out[:, :, a:b] = y
    return out


def worker(arm: str, model_dir: str, frames: int) -> None:
    """One arm in this process: peak memory of the first call, then 3 warm calls."""
    import torch

    bb, c1a, c2b, c2c = _stem(model_dir)
    x = torch.randn(1, 3, frames, 224, 224, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=torch.channels_last_3d)
    chunk = frames // 2 if arm == "whole" else int(arm.split(":")[1])
    base = _rss_mb()
    times = []
    with torch.inference_mode():
        for _ in range(4):
            tick = time.perf_counter()
            y = head_in_chunks(x, c1a, c2b, c2c, chunk)
            times.append((time.perf_counter() - tick) * 1000)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
        diff = float((y - bb.forward_head(x)).abs().max())
    print(json.dumps({"peak_mb": peak, "ms": statistics.median(times[1:]), "max_diff": diff}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--chunks", default="16,32", help="head steps per chunk, one arm each")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "i3d_head_memory.md")
    parser.add_argument("--worker", nargs=3, metavar=("ARM", "MODEL", "FRAMES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        arm, model, frames = args.worker
        return worker(arm, model, int(frames))

    arms = ["whole", *(f"chunk:{int(c)}" for c in args.chunks.split(","))]

    def measure(arm: str, rep: int) -> dict:
        return run_json(module_command("i3d_head_memory", "--worker", arm, args.model, args.frames), what=arm)

    def report(arm: str, rep: int, result: dict) -> None:
        print(f"repeat {rep + 1}/{args.repeats} {arm}: {result['peak_mb']:.0f} MB, {result['ms']:.0f} ms",
              file=sys.stderr, flush=True)

    runs = interleave(arms, args.repeats, measure, progress=report)
    rows = [[arm, f"{median(r['peak_mb'] for r in runs[arm]):.0f}", f"{median(r['ms'] for r in runs[arm]):.0f}",
             f"{max(r['max_diff'] for r in runs[arm]):.1e}"] for arm in arms]
    cmd = command("i3d_head_memory", f"--frames {args.frames} --chunks {args.chunks} --repeats {args.repeats}")
    write_results(args.out, [f"{measured(cmd, when=utc_now() + ' UTC')}: I3D's stem head over {args.frames} "
                             f"frames at 224 px; medians over {args.repeats} fresh processes, arms interleaved.", "",
                             *markdown_table(["arm", "peak MB", "ms (warm)", "max diff"], rows, align="lrrr")])


if __name__ == "__main__":
    main()
