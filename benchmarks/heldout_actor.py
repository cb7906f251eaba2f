"""The bundled model on the actor held out of its training (lena): trimmed clips and long videos.

    python -m benchmarks.heldout_actor    # writes benchmarks/results/heldout_actor.md

The model card's "the bundled model itself" numbers. Long videos: each clip inside a
video of its own empty scene, 3-4x its length (`make_long_video`, seed 7, the seed the
card quotes). Ten clips: one clip is 10 points. Not used to choose anything (the recipe
is chosen by the nested study in benchmarks/accuracy.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, WEIZMANN, command, measured, write_results
from sfc_sdk import Recognizer
from sfc_sdk.defaults import default_model_dir
from sfc_sdk.video.longvideo import make_long_video

DATA = WEIZMANN
METHODS = {"SFC r2": {"ratio": 2}, "SFC r4": {"ratio": 4}, "dense 10x3": {"mode": "dense", "views": "10x3"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--actor", default="lena")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "sfc-sdk" / "bench-heldout")
    parser.add_argument("--out", type=Path, default=RESULTS / "heldout_actor.md")
    args = parser.parse_args()
    clips = sorted(DATA.glob(f"*/{args.actor}_*.avi"))
    if not clips:
        raise SystemExit(f"no clips of {args.actor} under {DATA}")
    args.work.mkdir(parents=True, exist_ok=True)
    videos = {"trimmed": clips, "long": [make_long_video(c, args.work, seed=7).path for c in clips]}
    rec = Recognizer(args.model, device="cpu")
    lines = [f"{measured(command('heldout_actor', ''))}; "
             f"model `{args.model.relative_to(REPO) if args.model.is_relative_to(REPO) else args.model}`, "
             f"actor {args.actor} ({len(clips)} clips), top-1 %.", "",
             "| method | trimmed | long |", "|---|---:|---:|"]
    for method, kwargs in METHODS.items():
        top1 = {cond: 100 * sum(rec.predict(v, **kwargs).label == clip.parent.name
                                for v, clip in zip(paths, clips, strict=True)) / len(clips)
                for cond, paths in videos.items()}
        lines.append(f"| {method} | {top1['trimmed']:.0f} | {top1['long']:.0f} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
