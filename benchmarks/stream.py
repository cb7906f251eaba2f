"""Live recognition on this machine: windows per second and latency per window.

    python -m benchmarks.stream

The bundled model over a real video (the 10 Weizmann clips of actor lena, whom the
model never saw, back to back: about 30 s at 25 fps), in two ways:

  * as fast as possible from a file: windows per second end to end (decode in the
    reader thread, preprocessing, network) and compute per window, with the head
    features of overlapping windows reused (the default) and recomputed;
  * live, from a loopback HTTP MJPEG stream sent at 25 fps, as an IP camera would:
    latency from the arrival of a window's last frame to its result, dropped samples
    and skipped windows (zero when recognition keeps up).

Writes benchmarks/results/stream.md and .png.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import REPO, RESULTS, WEIZMANN, command, describe_machine, today, write_results

DATA = WEIZMANN
SETTINGS = [(4.0, 1.0), (4.0, 0.5), (2.0, 0.5), (2.0, 0.25)]  # (window_s, stride_s)
BIG = "r2plus1d_18"  # a full-size backbone (random weights), where the head is 95% of the compute


def lena_video(data: Path, out: Path) -> tuple[Path, list[np.ndarray]]:
    import cv2

    frames = []
    for clip in sorted(data.glob("*/lena_*.avi")):
        cap = cv2.VideoCapture(str(clip))
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return out, frames


def from_file(rec, video: Path, window_s: float, stride_s: float, reuse: str,
              max_windows: int | None = None) -> dict:
    start = time.perf_counter()
    results = list(rec.stream(video, window_s=window_s, stride_s=stride_s, reuse=reuse, max_windows=max_windows))
    wall = time.perf_counter() - start
    compute = [r.prediction.timings_ms["total"] for r in results]
    decision = next((e for r in results for e in r.events if e.startswith("head-feature reuse")), "")
    return {"windows": len(results), "windows_per_s": len(results) / wall,
            "compute_ms": statistics.median(compute), "compute_p90_ms": float(np.percentile(compute, 90)),
            "reused": statistics.fmean(r.reused_steps for r in results[1:]),
            "steps": rec.default_frames // rec.head_stride, "decision": decision,
            "labels": [r.label for r in results]}


def live(rec, frames: list[np.ndarray], window_s: float, stride_s: float) -> dict:
    from sfc_sdk import SourceOptions
    from sfc_sdk.errors import StreamDisconnectedError
    from tests.inference.test_stream import MJPEGServer  # the loopback camera the tests use (run from the repo root)

    server = MJPEGServer(frames, fps=25)
    results = []
    try:
        for r in rec.stream(server.url, window_s=window_s, stride_s=stride_s,
                            options=SourceOptions(reconnects=0, stall_timeout_s=5)):
            results.append(r)
    except StreamDisconnectedError:
        pass  # the server sends the video once
    finally:
        server.close()
    latency = [r.latency_ms for r in results]
    return {"windows": len(results), "latency_ms": statistics.median(latency),
            "latency_p90_ms": float(np.percentile(latency, 90)), "dropped": results[-1].dropped,
            "skipped": results[-1].skipped_windows, "seconds": results[-1].end_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "stream")
    ap.add_argument("--out", type=Path, default=RESULTS / "stream.md")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"error: Weizmann data not found at {args.data}")
    args.work.mkdir(parents=True, exist_ok=True)
    video, frames = lena_video(args.data, args.work / "lena_all.avi")

    from sfc_sdk import Recognizer

    rec = Recognizer(device="cpu")
    list(rec.stream(video, window_s=4.0, stride_s=1.0, max_windows=3))  # warm-up
    rows = []
    big = Recognizer(REPO / "runs" / "speed" / "models" / BIG, device="cpu") if \
        (REPO / "runs" / "speed" / "models" / BIG).is_dir() else None  # made by benchmarks/speed.py
    for name, r, settings, limit in (("bundled", rec, SETTINGS, None), (BIG, big, SETTINGS[:1], 12)):
        if r is None:
            continue
        for window_s, stride_s in settings:
            reused = from_file(r, video, window_s, stride_s, reuse="on", max_windows=limit)
            full = from_file(r, video, window_s, stride_s, reuse="off", max_windows=limit)
            auto = from_file(r, video, window_s, stride_s, reuse="auto", max_windows=limit)
            same = sum(a == b for a, b in zip(reused["labels"], full["labels"], strict=True)) / len(full["labels"])
            row = {"model": name, "window_s": window_s, "stride_s": stride_s, "reuse": reused, "full": full,
                   "auto": auto, "same_labels": same,
                   "live": live(r, frames, window_s, stride_s) if name == "bundled" else None}
            rows.append(row)
            print(name, window_s, stride_s, {k: v for k, v in reused.items() if k != "labels"},
                  {k: v for k, v in full.items() if k != "labels"}, auto["decision"], row["live"], flush=True)

    lines = [
        "# Live recognition: windows per second and latency per window",
        "",
        f"{today()}, {describe_machine()}. `{command('stream', '')}`. Bundled model "
        f"({rec.config.name}, SFC {rec.default_frames} samples per window, ratio {rec.default_ratio}, PyTorch CPU), "
        f"on actor lena's 10 Weizmann clips back to back ({len(frames)} frames, {len(frames) / 25:.0f} s at 25 fps).",
        "",
        "From a file, as fast as possible (decode + preprocess + network; every window computed), head "
        "features reused (on), recomputed (off), and the default (auto: both timed on the first windows, "
        f"the faster kept). {BIG}: random weights, first 12 windows.",
        "",
        "| model | window s | stride s | windows/s on / off / auto | compute ms/window on / off / auto | "
        "head steps reused per window (on) | auto chose | same labels on vs off |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        a, b, c = r["reuse"], r["full"], r["auto"]
        lines.append(f"| {r['model']} | {r['window_s']:g} | {r['stride_s']:g} | {a['windows_per_s']:.1f} / "
                     f"{b['windows_per_s']:.1f} / {c['windows_per_s']:.1f} | {a['compute_ms']:.1f} / "
                     f"{b['compute_ms']:.1f} / {c['compute_ms']:.1f} | {a['reused']:.1f} of {a['steps']} "
                     f"| {c['decision'] or '-'} | {r['same_labels']:.0%} |")
    lines += ["", "Live, from a loopback HTTP MJPEG stream at 25 fps (latency: last frame of the window "
              "arrived -> its result):", "",
              "| window s | stride s | windows | latency median ms | latency p90 ms | dropped samples | "
              "skipped windows |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        v = r["live"]
        if v is None:
            continue
        lines.append(f"| {r['window_s']:g} | {r['stride_s']:g} | {v['windows']} | {v['latency_ms']:.0f} "
                     f"| {v['latency_p90_ms']:.0f} | {v['dropped']} | {v['skipped']} |")
    write_results(args.out, lines)
    plot(rows, args.out.with_suffix(".png"))


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r['model']}\n{r['window_s']:g}s / {r['stride_s']:g}s" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(x - 0.2, [r["reuse"]["compute_ms"] for r in rows], 0.4, label="head features reused")
    ax.bar(x + 0.2, [r["full"]["compute_ms"] for r in rows], 0.4, label="recomputed per window")
    ax.set_yscale("log")
    ax.set_xticks(x, names)
    ax.set_xlabel("window / stride")
    ax.set_ylabel("compute per window, ms (median, log)")
    ax.set_title("Live SFC on this CPU: cost of one window")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
