"""Videos per second: the single-process job against Ray with 1 and 2 inference workers.

    python -m benchmarks.scale [--model DIR_OR_BUNDLE] [--rounds 2]

Over the 70 Weizmann clips, each arm in a fresh process, arms interleaved over --rounds
(median). Wall time is the whole job, steady videos/s the rate once results flow (the
second half of them). The loop arm is `Recognizer.predict` video after video; the
serial arm is `Recognizer.iter_predict` (decoding ahead in a thread, as `predict DIR
--output` runs; the "vs serial" columns compare with it); the Ray arms are `run_ray_job` on a local Ray started with
this machine's CPUs (start-up timed apart). From the records: where the time goes, CPU
milliseconds per video in decode tasks (decode + preprocess) and in inference actors.
Writes benchmarks/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import RESULTS, WEIZMANN, command, measured, median, module_command, run_json, write_results

CLIPS = sorted(str(p) for p in WEIZMANN.glob("*/*.avi"))
ARMS = ("loop", "serial", "ray 1 worker", "ray 2 workers")


def worker(arm: str, model: str | None) -> None:
    if arm in ("loop", "serial"):
        from sfc_sdk import Recognizer

        rec = Recognizer(model)
        rec.predict(CLIPS[0])  # warm-up, as the Ray actors' first video is not timed apart either
        start, stamps, preds = time.perf_counter(), [], []
        for pred in (map(rec.predict, CLIPS) if arm == "loop" else rec.iter_predict(CLIPS)):
            preds.append(pred)
            stamps.append(time.perf_counter())
        wall = time.perf_counter() - start
        parts = [(p.timings_ms["decode"] + p.timings_ms["preprocess"], p.timings_ms["inference"]) for p in preds]
        print(json.dumps({"wall_s": wall, "startup_s": 0.0, "parts": parts, "stamps": stamps}))
        return
    import ray

    from sfc_sdk.inference.ray_job import connect, run_ray_job

    start = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    connect()
    startup = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start, stamps = time.perf_counter(), []
        run_ray_job(CLIPS, model, Path(tmp) / "out.jsonl", workers=int(arm.split()[1]), progress=False,
                    on_record=lambda _: stamps.append(time.perf_counter()))
        wall = time.perf_counter() - start
        records = [json.loads(line) for line in (Path(tmp) / "out.jsonl").read_text().splitlines()]
    parts = [(r["decode_ms"] + r["preprocess_ms"], r["inference_ms"]) for r in records]
    print(json.dumps({"wall_s": wall, "startup_s": startup, "parts": parts, "stamps": stamps}))


def steady_rate(stamps: list[float]) -> float:
    """Videos per second once results flow: the second half of the results over its span
    (a job's start, loading the model in the driver and the actors, is not in it)."""
    half = stamps[len(stamps) // 2:]
    return (len(half) - 1) / (half[-1] - half[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory or bundle (default: the bundled model)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.model)
    runs: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for r in range(args.rounds):
        for arm in ARMS:
            runs[arm].append(run_json(module_command("scale", "--worker", arm,
                                                     *(["--model", args.model] if args.model else []))))
            print(f"round {r + 1}/{args.rounds}: {arm} {runs[arm][-1]['wall_s']:.1f} s", flush=True)
    write_table(args, runs)


def write_table(args: argparse.Namespace, runs: dict[str, list[dict]]) -> None:
    n = len(CLIPS)
    serial = median(r["wall_s"] for r in runs["serial"])
    cmd = command("scale", (f"--model {args.model} " if args.model else "") + f"--rounds {args.rounds}")
    lines = [f"{measured(cmd)}: the {n} Weizmann clips, "
             f"{args.model or 'the bundled model'}; median of {args.rounds} fresh-process rounds, arms interleaved. "
             "Decode and inference: mean ms per video as each part measured it (decode includes preprocessing; "
             "inference in Ray includes the wait in the actor's queue).", "",
             "| arm | wall s | videos/s | vs serial | steady videos/s | vs serial | Ray start-up s | "
             "decode ms/video | inference ms/video |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    serial_rate = median(steady_rate(r["stamps"]) for r in runs["serial"])
    for arm, rows in runs.items():
        wall = median(r["wall_s"] for r in rows)
        startup = median(r["startup_s"] for r in rows)
        decode = median(statistics.mean(p[0] for p in r["parts"]) for r in rows)
        infer = median(statistics.mean(p[1] for p in r["parts"]) for r in rows)
        rate = median(steady_rate(r["stamps"]) for r in rows)
        lines.append(f"| {arm} | {wall:.1f} | {n / wall:.1f} | {serial / wall:.2f}x | {rate:.1f} | "
                     f"{rate / serial_rate:.2f}x | {startup:.1f} | {decode:.1f} | {infer:.1f} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
