"""How many head steps per chunk for I3D's stem head, in memory and time?

    python -m benchmarks.i3d_head_memory --model kinetics400-i3d/ [--frames 256] [--chunks 4,8,16,32] [--repeats 3]

The PyTorch runtime runs I3D's stem head through time in chunks (sdk/model/backbones/
i3d_chunked_stem.py; HEAD_CHUNK_STEPS in sdk/model/backbones/base.py), from uint8 frames
normalised a chunk at a time. This script runs the runtime's inference copy of the model on
the same random uint8 frames, one arm per fresh process:

    whole      no chunks: the float input made whole, each layer over all of it (`forward_head`)
    chunk:N    N head steps at a time

*Peak MB*: the process's peak RSS while the head runs (its high-water mark reset once the
model is loaded and the frames made) minus its RSS then (the runtime's allocator settings,
cpu_allocator.py, included); *ms* the median of 3 warm calls. *Max diff*: the largest difference from the model's own
`forward_head` (BatchNorm not folded) on the same input, over the whole output.
"""

from __future__ import annotations

import argparse
import json
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


def worker(arm: str, model_dir: str, frames: int) -> None:
    """One arm in this process: peak memory of the first call, then 3 warm calls."""
    import torch

    from sfc_sdk.inference.memory import peak_rss_mb, reset_peak_rss
    from sfc_sdk.model import load_model
    from sfc_sdk.runtimes.cpu_allocator import keep_freed_memory
    from sfc_sdk.runtimes.torch_fusion import as_model_input, inference_copy

    keep_freed_memory()  # as the runtime runs
    model, config = load_model(model_dir)
    spec = model.resolve(config).input_spec
    net = inference_copy(model, torch.device("cpu"), head_chunk=None if arm == "whole" else int(arm.split(":")[1]),
                         input_spec=spec)
    gen = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (1, frames, spec.crop_size, spec.crop_size, 3), dtype=torch.uint8, generator=gen)
    x = as_model_input(rgb.permute(0, 4, 1, 2, 3), torch.device("cpu"))
    if not reset_peak_rss():  # the head's peak, not loading's: the high-water mark starts at the RSS now
        sys.exit("peak memory is measured on Linux only (/proc/self/clear_refs)")
    base = peak_rss_mb()
    times = []
    with torch.inference_mode():
        for _ in range(4):
            tick = time.perf_counter()
            y = net.backbone.forward_head(x)
            times.append((time.perf_counter() - tick) * 1000)
        peak = peak_rss_mb() - base
        diff = float((y - model.eval().backbone.forward_head(net.backbone.input_normalization(x))).abs().max())
    print(json.dumps({"peak_mb": peak, "ms": statistics.median(times[1:]), "max_diff": diff}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--chunks", default="4,8,16,32", help="head steps per chunk, one arm each")
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
                             f"uint8 frames at 224 px; medians over {args.repeats} fresh processes, arms "
                             "interleaved.", "",
                             *markdown_table(["arm", "peak MB", "ms (warm)", "max diff"], rows, align="lrrr")])


if __name__ == "__main__":
    main()
