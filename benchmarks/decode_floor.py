"""How much decoding SFC's samples can save at best: the floor set by keyframe positions.

    python -m benchmarks.decode_floor    # writes benchmarks/results/decode_floor.md

A sampled frame can only be decoded from the keyframe before it. So whatever the
decoder, a video costs at least, per group of pictures holding a sample, the frames from
its keyframe to its last sample. This script counts that floor from each video's packet
index (demuxing only, nothing timed, so it is exact and machine-independent) for the
bundled model's SFC plan and its dense 10x3 plan, on the videos of benchmarks/decode.py,
and puts it next to what the SDK decodes (PyAVSource.frames_decoded, decoding for
real). "Best speedup" is every frame / floor: the most any decoder can gain over
decoding every frame with these samples and these keyframes (decoding cost taken as
proportional to frames; B-frames skipped with `--decode reference` are the one way
under it, and they move the answers).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.decode import sample_plans, video_sets
from benchmarks.harness import RESULTS, command, measured, write_results
from sfc_sdk.video.seek_plan import frames_decoded, plan_decode_runs
from sfc_sdk.video.sources.pyav import PyAVSource


def count(path: str, plan) -> dict[str, int]:
    """Frames, keyframes, distinct samples, the floor and what the SDK's plan decodes."""
    source = PyAVSource(path)
    try:
        index = source.index
        if index is None:
            raise SystemExit(f"{path}: no trustworthy packet index")
        frames, keyframes = len(index.pts), index.keyframes
        wanted = sorted(set(plan(frames)))
        # Decodes for real: the SDK's own count. Where a seek plan cannot be trusted (an AVI
        # whose timestamps do not rise) sample_frames decodes the whole file after the attempt.
        sequential = source.read_frames(wanted, short_side=16) is None
        decoded = source.frames_decoded + (frames if sequential else 0)
    finally:
        source.close()
    return {"frames": frames, "keyframes": len(keyframes), "samples": len(wanted),
            "floor": frames_decoded(plan_decode_runs(wanted, keyframes, seek_cost=0)), "plan": decoded,
            "sequential": int(sequential)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "sfc-sdk" / "bench-decode")
    parser.add_argument("--out", type=Path, default=RESULTS / "decode_floor.md")
    args = parser.parse_args()
    plans = sample_plans()
    lines = [measured(command("decode_floor", ""), verb="Counted") + " (packet indexes only: exact, the same on "
             "any machine). Frames summed over each set's videos; "
             "SFC: the bundled model's 64 samples; dense: its 10x3 plan (10 clips of 16 frames).", "",
             "| video | frames | keyframes | plan | distinct samples | frames the SDK decodes | "
             "floor: frames any decoder must decode | floor share | best speedup over every frame |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for name, videos in video_sets(args.work, quick=False).items():
        for plan_name in ("sfc", "dense"):
            plan = plans[plan_name][0]
            rows = [count(v, plan) for v in videos]
            total = {k: sum(r[k] for r in rows) for k in rows[0]}
            decoded = f"{total['plan']}" + (" (sequential)" if total["sequential"] else "")
            lines.append(f"| {name} | {total['frames']} | {total['keyframes']} | {plan_name} | {total['samples']} | "
                         f"{decoded} | {total['floor']} | {total['floor'] / total['frames']:.0%} | "
                         f"{total['frames'] / total['floor']:.2f}x |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
