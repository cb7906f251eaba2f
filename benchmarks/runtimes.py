"""Every runtime x precision available here, on the bundled model and real Weizmann clips.

    python -m benchmarks.runtimes                  # converts what is missing, then measures
    python -m benchmarks.runtimes --runs 50

For each configuration, in a fresh process of its own (so peak memory is its own):
  * model latency: median of --runs calls on one preprocessed input, after warm-up
  * end-to-end latency per video (decode + preprocess + model), mean over the clips
  * peak memory: the process's resident-set high-water mark, and what loading the
    model and running it added to a bare Python + sfc_sdk process
  * top-1 on all 70 Weizmann clips, and on actor lena's 10 (the actor the bundled
    model never saw). 60 of the 70 clips were in its training set, so the 70-clip
    figure measures what export and quantization change, not generalization.

Writes benchmarks/results/runtimes.md, .json and .png.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
from pathlib import Path

from benchmarks.harness import DEFAULT_MODEL, REPO, RESULTS, WEIZMANN, describe_machine, today, write_results

DATA = WEIZMANN

# (runtime, bundle format, bundle precision): torch runs the model directory itself.
CONFIGS = [
    ("torch", None, "fp32"),
    ("onnxruntime", "onnx", "fp32"),
    ("onnxruntime", "onnx", "fp16"),
    ("openvino", "openvino", "fp32"),
    ("openvino", "openvino", "bf16"),
    ("openvino", "openvino", "fp16"),
    ("openvino", "openvino", "int8"),
    ("tflite", "tflite", "fp32"),
    ("tflite", "tflite", "fp16"),
    ("torch", None, "fp32"),  # again at the end: shows how much this shared machine drifted during the run
]


CUTS = (20, 36, 50)  # clips cut to fewer frames than the 64-frame input: the bundles' short inputs


def _measure(runtime: str, bundle: str | None, clips: list[str], runs: int, queue: mp.Queue) -> None:
    """One configuration, in its own process, with an empty user cache of its own."""
    try:
        import os
        import tempfile
        import time

        os.environ["SFC_SDK_CACHE"] = tempfile.mkdtemp(prefix="sfc-bench-cache-")
        import numpy as np

        from sfc_sdk import Recognizer
        from sfc_sdk.inference.memory import peak_rss_mb
        from sfc_sdk.video.decode import sample_frames
        from sfc_sdk.video.preprocess import sfc_input
        from sfc_sdk.video.sampling import uniform_indices

        bare = peak_rss_mb()

        def load() -> tuple[Recognizer, float]:
            start = time.perf_counter()
            rec = Recognizer(bundle, runtime=runtime) if bundle else Recognizer(device="cpu")
            return rec, (time.perf_counter() - start) * 1000

        rec = load()[0]  # the first load also imports the runtime: not what is timed
        os.environ["SFC_SDK_CACHE"] = tempfile.mkdtemp(prefix="sfc-bench-cache-")
        load_ms = load()[1]  # empty cache: OpenVINO compiles from the model file
        load_cached_ms = load()[1]  # OpenVINO: from the CACHE_DIR blob the load before wrote
        frames, ratio = rec.default_frames, rec.default_ratio
        x = sfc_input(sample_frames(clips[0], lambda n: uniform_indices(n, frames), rec.input_spec.resize_size).frames,
                      rec.input_spec, uint8=rec.sfc_recipe().uint8)  # as predict sends it
        times = rec.runtime.time_sfc(x, ratio, runs, warmup=10)
        # Model only, many inputs: one at a time vs in flight together (run_sfc_many).
        start = time.perf_counter()
        for _ in range(runs):
            rec.runtime.run_sfc(x, ratio)
        one_at_a_time = runs / (time.perf_counter() - start)
        list(rec.runtime.run_sfc_many((x, ratio) for _ in range(4)))  # makes the throughput compile
        start = time.perf_counter()
        list(rec.runtime.run_sfc_many((x, ratio) for _ in range(runs)))
        in_flight = runs / (time.perf_counter() - start)

        for c in clips:  # warm-up: a bundle makes each short input's session on first use (OpenVINO compiles it)
            rec.predict(c)
        start = time.perf_counter()
        preds = [rec.predict(c) for c in clips]  # short clips: sampled at the training stride (short inputs)
        serial_vps = len(clips) / (time.perf_counter() - start)
        peak_mb = peak_rss_mb()  # one model, one video at a time (what follows holds whole clips in memory)
        rec.predict_batch(clips)  # warm-up: OpenVINO makes a throughput compile of each input on first use
        start = time.perf_counter()
        batch = rec.predict_batch(clips)  # decoding ahead in a thread; the runtime's run_sfc_many
        batch_vps = len(clips) / (time.perf_counter() - start)
        batch_same = all(a.label == b.label and a.kept_times == b.kept_times for a, b in zip(preds, batch, strict=True))

        whole = [sample_frames(c, lambda n: list(range(n)), None).frames for c in clips]
        cut_preds = [rec.predict(v[:n]) for v in whole for n in CUTS]
        truth = [Path(c).parent.name for c in clips]
        correct = [p.label == t for p, t in zip(preds, truth, strict=True)]
        held_out = [ok for ok, c in zip(correct, clips, strict=True) if Path(c).name.startswith("lena_")]
        queue.put({
            "model_ms": statistics.median(times), "model_p90_ms": float(np.percentile(times, 90)),
            "video_ms": statistics.fmean(p.timings_ms["total"] for p in preds),
            "top1": float(np.mean(correct)), "top1_heldout": float(np.mean(held_out)),
            "labels": [p.label for p in preds], "kept": [[m.frame for m in p.kept] for p in preds],
            "cut_labels": [p.label for p in cut_preds], "cut_kept": [[m.frame for m in p.kept] for p in cut_preds],
            "peak_mb": peak_mb, "added_mb": peak_mb - bare, "runtime": preds[0].runtime,
            "load_ms": load_ms, "load_cached_ms": load_cached_ms, "model_per_s_one": one_at_a_time,
            "model_per_s_many": in_flight, "videos_per_s_serial": serial_vps, "videos_per_s_batch": batch_vps,
            "batch_same": batch_same,
        })
    except Exception as e:  # reported in the table instead of stopping the benchmark
        queue.put({"error": f"{type(e).__name__}: {e}"})


def measure(runtime: str, bundle: str | None, clips: list[str], runs: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(runtime, bundle, clips, runs, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def calibration_folder(data: Path, work: Path) -> Path:
    """The bundled model's own training clips (every actor but lena), as `--calib`."""
    folder = work / "calib"
    folder.mkdir(parents=True, exist_ok=True)
    for clip in sorted(data.glob("*/*.avi")):
        link = folder / clip.name
        if not clip.name.startswith("lena_") and not link.exists():
            link.symlink_to(clip.resolve())
    return folder


def ensure_bundle(work: Path, fmt: str, precision: str, calib: Path) -> Path:
    from sfc_sdk import convert, load_model
    from sfc_sdk.defaults import default_model_dir

    out = work / f"{fmt}-{precision}"
    manifest = out / "manifest.json"
    current = load_model(default_model_dir())[1].to_dict()
    # A bundle left from an earlier bundled model (another split, retrained) is made again.
    if not manifest.is_file() or json.loads(manifest.read_text()).get("model") != current:
        print(f"converting {fmt} {precision} ...", flush=True)
        convert(None, fmt, out, precision=precision, calib=calib, overwrite=True, log=lambda _: None)
    return out


def write_table(rows: list[dict], out: Path, meta: dict) -> str:
    ref = next(r for r in rows if r["runtime_name"] == "torch")
    lines = [
        "# Runtimes: the bundled model on every runtime x precision",
        "",
        f"{meta['date']}, {meta['machine']}. Model: {meta['model']} (SFC, {meta['frames']} frames, ratio "
        f"{meta['ratio']}). Model latency: median of {meta['runs']} calls after warm-up on one preprocessed input. "
        "Per video: decode + preprocess + model, mean over 70 clips after one warm-up pass over them (a bundle "
        "makes each short input's session on first use; a clip under 128 frames is sampled at the training "
        "stride, by the bundle's short inputs as by PyTorch). Peak memory: RSS "
        "high-water mark of a fresh process per row; 'added' is what loading and running the model added to "
        "Python + sfc_sdk. "
        "torch runs first and again last: the difference is the machine's drift during the run. "
        "Top-1: all 70 Weizmann clips (60 were in the model's training set: this column shows what export "
        "changes) and the 10 of held-out actor lena. Agreement with torch (the first row): top-1 on the 70 "
        "clips and on each clip cut to its first 20, 36 and 50 frames (run at the training stride by the bundles' "
        "16-, 16- and 32-frame inputs), and identical kept moments on all 280.",
        "",
        "| runtime | precision | model file MB | model ms | speedup vs torch | per video ms | peak MB | added MB "
        "| top-1 (70) | top-1 lena (10) | agrees with torch (70) | agrees, cut to 20/36/50 frames (210) "
        "| same kept moments (70 + 210) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['runtime_name']} | {r['precision']} | failed: {r['error']} |||||||||||")
            continue
        agree = _share(r["labels"], ref["labels"])
        lines.append(
            f"| {r['runtime_name']} | {r['precision']} | {r['size_mb']:.2f} | {r['model_ms']:.1f} "
            f"| {ref['model_ms'] / r['model_ms']:.2f}x "
            f"| {r['video_ms']:.1f} | {r['peak_mb']:.0f} | {r['added_mb']:.0f} | {r['top1']:.1%} "
            f"| {r['top1_heldout']:.0%} | {agree:.1%} | {_share(r['cut_labels'], ref['cut_labels']):.1%} "
            f"| {_share(r['kept'] + r['cut_kept'], ref['kept'] + ref['cut_kept']):.1%} |")
    lines += [
        "",
        "## Throughput: many videos (`predict_batch`, `predict DIR`) and load time",
        "",
        "Model only: inferences per second on one preprocessed input, called one at a time (`run_sfc`) and "
        "kept in flight together (`run_sfc_many`: OpenVINO's AsyncInferQueue over a THROUGHPUT-hint compile; "
        "the other runtimes run them one at a time). Videos per second over the 70 clips, decoding included: "
        "`predict` one video after another (before) and `predict_batch` (after: the next videos decode in a "
        "thread while the runtime runs, and OpenVINO keeps several in flight); 'same' = identical labels and "
        "kept moments. Load: making the Recognizer (runtime already imported) with an empty user cache, and "
        "again with OpenVINO's compiled-model cache (CACHE_DIR) filled by the load before.",
        "",
        "| runtime | precision | model/s one at a time | model/s in flight | videos/s serial | videos/s batch "
        "| batch gain | same | load ms (empty cache) | load ms (cached) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        if "error" not in r:
            lines.append(
                f"| {r['runtime_name']} | {r['precision']} | {r['model_per_s_one']:.0f} | {r['model_per_s_many']:.0f} "
                f"| {r['videos_per_s_serial']:.1f} | {r['videos_per_s_batch']:.1f} "
                f"| {r['videos_per_s_batch'] / r['videos_per_s_serial']:.2f}x | {'yes' if r['batch_same'] else 'NO'} "
                f"| {r['load_ms']:.0f} | {r['load_cached_ms']:.0f} |")
    bulky = ("kept", "cut_labels", "cut_kept")  # per-clip lists: the table above has what they show
    slim = [{k: v for k, v in r.items() if k not in bulky} for r in rows]
    return write_results(out.with_suffix(".md"), lines, data={"meta": meta, "rows": slim}, echo=False)


def _share(a: list, b: list) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(b)


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "error" not in r]
    names = [f"{r['runtime_name']}\n{r['precision']}" for r in ok]
    fig, ax = plt.subplots(figsize=(10, 4))
    bars = ax.bar(names, [r["model_ms"] for r in ok], color="#4c72b0")
    for bar, r in zip(bars, ok, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{r['top1']:.0%}", ha="center", va="bottom",
                fontsize=8)
    ax.set_ylabel("model latency per video, ms (lower is better)")
    ax.set_title("Bundled SFC model per runtime x precision (labels: top-1 on 70 Weizmann clips)")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench_bundles")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS / "runtimes.md")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"error: Weizmann data not found at {args.data}")
    clips = [str(p) for p in sorted(args.data.glob("*/*.avi"))]
    args.work.mkdir(parents=True, exist_ok=True)

    from sfc_sdk.formats import list_runtimes

    installed = {e.name for e in list_runtimes() if e.installed()}
    calib = calibration_folder(args.data, args.work)
    rows = []
    for runtime, fmt, precision in CONFIGS:
        if runtime not in installed:
            print(f"skip {runtime}: not installed")
            continue
        bundle = str(ensure_bundle(args.work, fmt, precision, calib)) if fmt else None
        print(f"measuring {runtime} {precision} ...", flush=True)
        folder = Path(bundle) if bundle else DEFAULT_MODEL
        files = [f for f in folder.iterdir() if f.name.startswith("model.")]
        row = {"runtime_name": runtime, "precision": precision, "size_mb": sum(f.stat().st_size for f in files) / 1e6,
               **measure(runtime, bundle, clips, args.runs)}
        rows.append(row)
        print({k: v for k, v in row.items() if not isinstance(v, list)}, flush=True)

    from sfc_sdk import Recognizer

    rec = Recognizer(device="cpu")
    meta = {"date": today(),
            "machine": describe_machine(),
            "model": rec.config.name, "frames": rec.default_frames, "ratio": rec.default_ratio, "runs": args.runs}
    print(write_table(rows, args.out, meta))
    plot(rows, args.out)


if __name__ == "__main__":
    main()
