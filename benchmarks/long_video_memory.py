"""Does memory stay bounded as videos get longer? Peak RSS of `predict` on 1, 10 and 60
minute videos (a real Weizmann clip looped, 180x144 at 25 fps, MJPG in AVI).

    python -m benchmarks.long_video_memory [--minutes 1,10,60]

Each prediction runs in a fresh interpreter, so its peak resident memory is its own.
Writes benchmarks/results/long_video_memory.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2

from benchmarks.harness import REPO, RESULTS, WEIZMANN, describe_machine, python_code, run_json, today, write_results

CLIP = WEIZMANN / "jack" / "daria_jack.avi"

MEASURE = """
import json, sys, time
from sfc_sdk import Recognizer
from sfc_sdk.inference.memory import peak_rss_mb
rec = Recognizer(device="cpu")
base = peak_rss_mb()
start = time.perf_counter()
pred = rec.predict(sys.argv[1], mode=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb(), "loaded_mb": base,
                  "frames": pred.num_frames, "label": pred.label}))
"""


def make_video(minutes: float, path: Path) -> int:
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    total = int(minutes * 60 * 25)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, frames[0].shape[1::-1])
    for i in range(total):
        writer.write(frames[i % len(frames)])
    writer.release()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="1,10,60")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "long_video_memory")
    ap.add_argument("--out", type=Path, default=RESULTS / "long_video_memory.md")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for minutes in [float(m) for m in args.minutes.split(",")]:
        path = args.work / f"loop_{minutes:g}min.avi"
        if not path.exists():
            start = time.perf_counter()
            make_video(minutes, path)
            print(f"wrote {path.name} in {time.perf_counter() - start:.0f} s", flush=True)
        for mode in ("sfc", "dense"):
            out = run_json(python_code(MEASURE, path, mode), cwd=None, what=f"{mode} on {path.name}")
            r = {"minutes": minutes, "mode": mode, "size_mb": path.stat().st_size / 1e6, **out}
            rows.append(r)
            print(r, flush=True)
    lines = [f"# Peak memory against video length\n\n{today()}, {describe_machine()}. Bundled model, "
             "`Recognizer.predict` on a real clip looped to each length (180x144, 25 fps, MJPG). Peak RSS of a fresh "
             "interpreter; 'loaded' is after loading the model, before the video.\n",
             "| video | frames | file MB | mode | seconds | loaded MB | peak MB | peak - loaded MB |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['minutes']:g} min | {r['frames']} | {r['size_mb']:.0f} | {r['mode']} | {r['seconds']:.1f} "
                     f"| {r['loaded_mb']:.0f} | {r['peak_mb']:.0f} | {r['peak_mb'] - r['loaded_mb']:.0f} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
