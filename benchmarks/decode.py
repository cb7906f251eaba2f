"""Decoding only what SFC samples: PyAV (index, keyframe seeks) against OpenCV and against
decoding every frame, on short real clips and on long H.264 videos.

    python -m benchmarks.decode                      # writes benchmarks/results/decode.md
    python -m benchmarks.decode --repeats 1 --quick  # a smoke run (Weizmann subset, 1-minute videos)

Arms, each in a fresh process, interleaved over --repeats rounds (median reported):
- `pyav` / `opencv`: `sample_frames` with that decoder first (SFC_SDK_FRAME_SOURCE), for
  the bundled model's SFC plan (64 frames) and its dense 10x3 plan, resized as predict does;
- `pyav sfc reference`: the SFC plan with `predict --decode reference` (non-reference
  frames skipped, the nearest decoded frame under half a sampling interval away);
- `every frame`: PyAV decoding every frame of the file without converting any (the
  floor of any decoder that reads the whole video).
Long videos are written once under --work with PyAV's libx264 (320x240, 25 fps,
3 B-frames) from a real Kinetics clip's frames, with a keyframe every 2 s and every 10 s
(x264's default): the plan can only skip what lies between keyframes. One more is MJPEG
(every frame a keyframe, as many IP cameras send): only the sampled frames decode.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from benchmarks.harness import (
    DATA,
    DEFAULT_MODEL,
    RESULTS,
    command,
    measured,
    median,
    module_command,
    run_json,
    write_results,
)

ARMS = ("pyav sfc", "pyav sfc reference", "opencv sfc", "pyav dense", "opencv dense", "every frame")


def sample_plans():
    from sfc_sdk.config import read_model_config
    from sfc_sdk.video.preprocess import dense_plan
    from sfc_sdk.video.sampling import Views, uniform_indices

    config = read_model_config(DEFAULT_MODEL)
    spec = config.input
    dense, dense_short = dense_plan(spec, Views(10, 3))
    return {"sfc": (lambda n: uniform_indices(n, config.sfc.frames), spec.resize_size),
            "dense": (dense, dense_short)}


def worker(arm: str, videos: list[str]) -> None:
    """One arm over `videos`: prints ms per video (mean) as JSON."""
    start = time.perf_counter()
    if arm == "every frame":
        import av

        for v in videos:
            with av.open(v) as c:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                for _ in c.decode(stream):
                    pass
    else:
        decoder, plan_name, *mode = arm.split()
        nearest = mode == ["reference"]
        os.environ["SFC_SDK_FRAME_SOURCE"] = decoder
        from sfc_sdk.video.decode import sample_frames

        plan, short = sample_plans()[plan_name]
        sample_frames(videos[0], plan, short, nearest=nearest)  # warm-up: imports, first open
        start = time.perf_counter()
        for v in videos:
            sample_frames(v, plan, short, nearest=nearest)
    print(json.dumps({"ms": (time.perf_counter() - start) * 1e3 / len(videos)}))


def _write_long(path: Path, seconds: int, gop: int) -> Path:
    """H.264 with a keyframe every `gop` frames, or MJPEG (`gop` 1) in an AVI."""
    import av

    if path.exists():
        return path
    with av.open(str(DATA / "clips" / "arm_wrestling_kinetics.mp4")) as c:
        source = [f.to_ndarray(format="rgb24", width=320, height=240) for f in c.decode(video=0)]
    tmp = path.with_name(f"{path.stem}.part{path.suffix}")
    with av.open(str(tmp), "w") as out:
        if gop == 1:
            stream = out.add_stream("mjpeg", rate=25)
            stream.width, stream.height, stream.pix_fmt = 320, 240, "yuvj420p"
        else:
            stream = out.add_stream("libx264", rate=25, options={
                "preset": "veryfast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=3"})
            stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(seconds * 25):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(source[(i * 3) % len(source)], format="rgb24")))
        out.mux(stream.encode())
    tmp.rename(path)
    return path


def video_sets(work: Path, quick: bool) -> dict[str, list[str]]:
    weizmann = sorted(str(p) for p in (DATA / "weizmann").glob("*/*.avi"))
    sets = {
        f"Weizmann, {len(weizmann[::7] if quick else weizmann)} clips (MPEG-4 AVI, 180x144, 1.4-5.8 s)":
            weizmann[::7] if quick else weizmann,
        "Kinetics H.264 MP4 (340x256, 10 s)": [str(DATA / "clips" / "arm_wrestling_kinetics.mp4")],
        "Kinetics H.264 MKV (426x240, 10 s, header over-counts)":
            [str(DATA / "clips" / "flipping_pancake_kinetics.mkv")],
        "NTU H.264 AVI (1920x1080, 3.4 s)": [str(DATA / "clips" / "drink_water_ntu_1080p.avi")],
    }
    work.mkdir(parents=True, exist_ok=True)
    for minutes in (1,) if quick else (1, 10):
        for gop in (50, 250):
            path = _write_long(work / f"long_{minutes}min_gop{gop}.mp4", minutes * 60, gop)
            sets[f"H.264 {minutes} min, keyframe every {gop // 25} s (320x240)"] = [str(path)]
    sets["MJPEG AVI 1 min, every frame a keyframe (320x240)"] = [str(_write_long(work / "long_1min_mjpeg.avi", 60, 1))]
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer clips, no 10-minute videos")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "sfc-sdk" / "bench-decode")
    parser.add_argument("--out", type=Path, default=RESULTS / "decode.md")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1:])

    sets = video_sets(args.work, args.quick)
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.repeats):
        for name, videos in sets.items():
            for arm in ARMS:  # interleaved: every arm once per round, in fresh processes
                out = run_json(module_command("decode", "--worker", arm, *videos))
                times.setdefault((name, arm), []).append(out["ms"])
            print(f"round {r + 1}/{args.repeats}: {name}", flush=True)
    write_table(args, sets, {k: median(v) for k, v in times.items()})


def write_table(args: argparse.Namespace, sets: dict[str, list[str]], ms: dict[tuple[str, str], float]) -> None:
    cmd = command("decode", ("--quick " if args.quick else "") + f"--repeats {args.repeats}")
    lines = [f"{measured(cmd)}; ms per video, median of "
             f"{args.repeats} fresh-process rounds, arms interleaved; sampled frames resized as predict does "
             "(bundled model: SFC 64 frames, short side 112; dense 10x3: 10 clips of 16 frames).", "",
             "| video | every frame (PyAV, no conversion) | SFC: OpenCV | SFC: PyAV | SFC: PyAV vs OpenCV | "
             "SFC: every frame / PyAV | SFC: PyAV reference frames | SFC: every frame / reference | "
             "dense 10x3: OpenCV | dense 10x3: PyAV |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in sets:
        every, cv_sfc, av_sfc = ms[(name, "every frame")], ms[(name, "opencv sfc")], ms[(name, "pyav sfc")]
        ref = ms[(name, "pyav sfc reference")]
        lines.append(f"| {name} | {every:.1f} | {cv_sfc:.1f} | {av_sfc:.1f} | {cv_sfc / av_sfc:.2f}x | "
                     f"{every / av_sfc:.2f}x | {ref:.1f} | {every / ref:.2f}x | {ms[(name, 'opencv dense')]:.1f} | "
                     f"{ms[(name, 'pyav dense')]:.1f} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
