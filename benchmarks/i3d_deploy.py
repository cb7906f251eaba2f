"""How fast and how big is DeepMind's Kinetics-400 I3D in each runtime the SDK deploys to, here.

    python -m benchmarks.i3d_deploy --calib /tmp/k400/calib             # every arm, 3 repeats
    python -m benchmarks.i3d_deploy --model /tmp/k400/m --arms torch,onnx --repeats 1 --no-refs

Arms: torch FP32 (the `sfc-sdk pull kinetics400-i3d` model directory itself), and
bundles of it from `sfc-sdk convert --target onnx|openvino|tflite [--precision int8]`:
onnxruntime FP32, OpenVINO FP32, OpenVINO INT8, TFLite (LiteRT) FP32. Each bundle arm is
converted twice, once at the model's SFC (256 frames, ratio 4: the deploy bundle, whose
size, convert wall time and `parity` line the table shows) and once with `--frames 64
--ratio 1` (no compression: I3D over one 64x224x224 clip). Bundles and their convert
records are cached in --work, so a rerun converts nothing (--reconvert redoes them). An
INT8 conversion refused by convert's parity check is recorded with its message and, with
--calib DIR, tried again with `--calib DIR`.

Every measurement is a fresh process on a 10-s Kinetics clip; the arms are interleaved
round-robin (the first arm rotates each repeat):
  * clip: the 64x1 bundle (model directory for torch) predicts the video CLIP_CALLS times
    in one fresh process, one call after another (`Recognizer.predict(video, frames=64,
    ratio=1)`, what `sfc-sdk predict VIDEO --frames 64 --ratio 1` runs for one video);
    latency = timings_ms.inference, the median of the warm calls, the first (cold) kept
    too. Not `sfc-sdk predict VIDEO VIDEO`: with several videos the CLI overlaps decoding
    and keeps videos in flight, and each one's "inference" then includes its queue wait;
  * video: `sfc-sdk predict VIDEO --json --device cpu` with the SFC bundle: the process's
    wall time (Python, imports, model load, decode, preprocess, model) and its timings_ms;
  * peak memory: each process's max RSS (os.wait4's rusage).
Medians over --repeats. Two reference rows run once, on the torch model directory:
`--mode dense --views 10x3` (30 views) and `--views whole` (I3D's one-pass protocol).
Writes benchmarks/results/i3d_deploy.md and .json (--out changes where).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import CLI, CLIPS, RESULTS, command, describe_machine, median, rotated, utc_now, write_results

VIDEO = CLIPS / "arm_wrestling_kinetics.mp4"
ARMS = {  # name -> (row label, convert arguments; None: the model directory on PyTorch)
    "torch": ("torch FP32 (model directory)", None),
    "onnx": ("onnxruntime FP32", ["--target", "onnx", "--precision", "fp32"]),
    "openvino": ("OpenVINO FP32", ["--target", "openvino", "--precision", "fp32"]),
    "openvino-int8": ("OpenVINO INT8", ["--target", "openvino", "--precision", "int8"]),
    "tflite": ("TFLite (LiteRT) FP32", ["--target", "tflite", "--precision", "fp32"]),
}
REFS = {  # on the torch model directory, end to end, once
    "dense-10x3": ("torch FP32, dense 10x3 (30 views)", ["--mode", "dense", "--views", "10x3"]),
    "whole": ("torch FP32, dense whole (one pass)", ["--mode", "dense", "--views", "whole"]),
}
SHAPES = {"sfc": [], "clip": ["--frames", "64", "--ratio", "1"]}  # convert/predict arguments
SHAPE_NAMES = {"sfc": "SFC bundle", "clip": "64x1 clip bundle"}
CLIP_CALLS = 4  # one cold, then warm
CLIP_WORKER = """
import json, sys
from sfc_sdk import Recognizer
model, video, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
rec = Recognizer(model, device="cpu")
for _ in range(calls):
    p = rec.predict(video, frames=64, ratio=1)
    print(json.dumps({"timings_ms": p.timings_ms, "top": [{"label": p.label}], "runtime": p.runtime}), flush=True)
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float) -> dict:
    """Run cmd in a fresh process: rc, stdout, stderr tail, wall seconds, peak RSS (MB) of that process."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd="/")
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            out = proc.stdout.read()  # to the end, without reaping: os.wait4 does, for this child's own rusage
        finally:
            timer.cancel()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-4000:]
    return {"rc": proc.returncode, "stdout": out, "stderr": tail, "wall_s": wall, "peak_mb": usage.ru_maxrss / 1024}


def sizes_mb(bundle: Path) -> tuple[float, float]:
    """The bundle directory, and its main graph (with its weights file: OpenVINO's .xml + .bin)."""
    graph = bundle / json.loads((bundle / "manifest.json").read_text())["model_file"]
    files = [f for f in bundle.rglob("*") if f.is_file()]
    return (sum(f.stat().st_size for f in files) / 1e6,
            sum(f.stat().st_size for f in files if f.parent == graph.parent and f.stem == graph.stem) / 1e6)


def convert(model: Path, arm: str, shape: str, work: Path, calib: Path | None, reconvert: bool) -> dict:
    """The bundle for (arm, shape), from the cache in work (if made from the same model
    directory) or made now; a parity refusal is recorded and, with calib, retried with --calib."""
    key = f"{arm}-{shape}"
    record_file = work / f"{key}.json"
    record: dict = {"arm": arm, "shape": shape, "model": str(model), "attempts": [], "bundle": None}
    tries = [[]] + ([["--calib", str(calib)]] if calib else [])
    cached = json.loads(record_file.read_text()) if record_file.is_file() and not reconvert else {}
    if cached.get("model") == str(model):  # made from this model directory
        if cached["bundle"] and (Path(cached["bundle"]) / "manifest.json").is_file():
            return cached
        if cached["bundle"] is None:  # refused: only what was not tried yet
            record, tries = cached, tries[len(cached["attempts"]):]
    for extra in tries:
        out = work / key
        cmd = [str(CLI), "convert", str(model), *ARMS[arm][1], *SHAPES[shape], *extra, "-o", str(out), "--overwrite"]
        log(f"convert {key} {' '.join(extra)} ...")
        done = run(cmd, timeout=7200)
        attempt = {"cmd": " ".join(cmd[1:]), "calib": bool(extra), "rc": done["rc"], "wall_s": done["wall_s"],
                   "peak_mb": done["peak_mb"]}
        if done["rc"] == 0:
            fields = {}
            for line in done["stdout"].splitlines():
                parts = line.split(None, 1)
                if len(parts) == 2 and parts[0] in ("digest", "parity", "latency", "took"):
                    fields[parts[0]] = parts[1].strip()
            manifest = json.loads((out / "manifest.json").read_text())
            attempt.update(fields, bundle_mb=sizes_mb(out)[0], graph_mb=sizes_mb(out)[1],
                           precision=manifest["precision"], runtime=manifest["runtime"])
            record["attempts"].append(attempt)
            record["bundle"] = str(out)
            break
        lines = [ln for ln in (done["stderr"] + done["stdout"]).splitlines() if ln.strip()]
        attempt["message"] = " ".join(ln for ln in lines if ln.lower().startswith("error")) or " ".join(lines[-3:])
        log(f"convert {key} refused (rc {done['rc']}): {attempt['message']}")
        record["attempts"].append(attempt)
    record_file.write_text(json.dumps(record, indent=1) + "\n")
    return record


def predict(model: str, video: Path, extra: list[str] | None) -> dict:
    """One fresh `sfc-sdk predict --json` process on the video (extra: its options), or with
    extra None the clip worker's CLIP_CALLS calls."""
    if extra is None:
        cmd = [sys.executable, "-c", CLIP_WORKER, model, str(video), str(CLIP_CALLS)]
    else:
        cmd = [str(CLI), "predict", str(video), "--model", model, "--json", "--device", "cpu", *extra]
    done = run(cmd, timeout=1800)
    if done["rc"] != 0:
        error = (done["stderr"].strip().splitlines() or [f"exit {done['rc']}"])[-1]
        return {"error": error.removeprefix("error: "), "wall_s": done["wall_s"]}
    preds = [json.loads(line) for line in done["stdout"].splitlines() if line.startswith("{")]
    return {"wall_s": done["wall_s"], "peak_mb": done["peak_mb"], "timings_ms": [p["timings_ms"] for p in preds],
            "top1": preds[-1]["top"][0]["label"], "runtime": preds[-1]["runtime"], "notes": preds[-1].get("notes")}


def med(runs: list[dict], get: Callable[[dict], float]) -> float | None:
    values = [get(r) for r in runs if "error" not in r]
    return median(values) if values else None


def summarize(name: str, label: str, runs: dict[str, list[dict]], conv: dict[str, dict]) -> dict:
    video, clip = runs.get("video", []), runs.get("clip", [])
    sfc_ok = conv.get("sfc", {}).get("attempts", [{}])[-1]
    row = {"arm": name, "label": label, "runs": runs, "convert": conv,
           "convert_s": sfc_ok.get("wall_s") if "bundle_mb" in sfc_ok else None, "parity": sfc_ok.get("parity"),
           "clip_ms": med(clip, lambda r: median(t["inference"] for t in r["timings_ms"][1:])),
           "clip_cold_ms": med(clip, lambda r: r["timings_ms"][0]["inference"]),
           "clip_peak_mb": med(clip, lambda r: r["peak_mb"]),
           "video_s": med(video, lambda r: r["wall_s"]), "video_peak_mb": med(video, lambda r: r["peak_mb"]),
           "errors": sorted({r["error"] for rs in runs.values() for r in rs if "error" in r})}
    for part in ("decode", "preprocess", "inference", "total"):
        row[f"video_{part}_ms"] = med(video, lambda r, p=part: r["timings_ms"][0][p])
    bundle = conv.get("sfc", {}).get("bundle")
    row["bundle_mb"], row["graph_mb"] = sizes_mb(Path(bundle)) if bundle else (None, None)
    row["top1"] = next((r["top1"] for r in video if "error" not in r), None)
    return row


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def write(rows: list[dict], meta: dict, out: Path) -> str:
    lines = [
        "# Kinetics-400 I3D in each deploy runtime",
        "",
        f"{meta['date']} (UTC), {meta['machine']}. `{command('i3d_deploy', meta['args'])}`; "
        f"video: `{Path(meta['video']).name}` (10 s); repeats: {meta['repeats']}.",
        "",
        "How measured: every number comes from a fresh process, arms interleaved round-robin per repeat (the "
        "first arm rotates), medians over the repeats. *Clip ms*: the network alone (`timings_ms.inference`) on "
        "one 64x224x224 clip, from a bundle converted with `--frames 64 --ratio 1` (no compression; torch: the "
        f"model directory) predicting the video {CLIP_CALLS} times in one process, one call after another "
        "(`Recognizer.predict(video, frames=64, ratio=1)`): the warm calls' median, and the first call (cold) in "
        "brackets. *Video s*: wall time of a whole `sfc-sdk predict VIDEO --json --device cpu` process "
        "(interpreter start, imports, model load, decode, preprocess, model) on the video with the SFC bundle "
        "(256 frames sampled over the whole video, ratio 4); decode / preprocess / model are that process's "
        "`timings_ms`. *Peak MB*: the process's max RSS (video run; clip run in brackets). *Bundle MB*: the SFC "
        "bundle directory (it also holds the short-input graphs for 64/128/192 frames), the 256-frame graph in "
        "brackets; *convert s*: wall time of its `sfc-sdk convert`, and *parity* its `parity` line (top-1 "
        "agreement with PyTorch FP32 on real clips). Reference rows run once each on the torch model directory, "
        "`--mode dense`. OpenVINO keeps compiled models in the user cache, so its first load after conversion "
        "is slower than later ones.",
        "",
        "| runtime | bundle MB | convert s | parity | clip ms (cold) | video s | decode / preprocess / model ms "
        "| peak MB (clip) | top-1 |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        for part, rec in r["convert"].items():
            for a in rec["attempts"]:
                if a["rc"] != 0:
                    lines.append(f"| {r['label']} ({SHAPE_NAMES[part]}{', --calib' if a['calib'] else ''}) "
                                 f"| refused by convert (rc {a['rc']}, {a['wall_s']:.0f} s): {a['message']} ||||||||")
        calib = any(a["calib"] and a["rc"] == 0 for rec in r["convert"].values() for a in rec["attempts"])
        label = r["label"] + (", --calib" if calib else "")
        if r["video_s"] is None and r["clip_ms"] is None:
            if r["errors"]:
                lines.append(f"| {label} | error: {'; '.join(r['errors'])} ||||||||")
            continue
        size = f"{r['bundle_mb']:.0f} ({r['graph_mb']:.0f})" if r["bundle_mb"] is not None else "-"
        clip = f"{fmt(r['clip_ms'])} ({fmt(r['clip_cold_ms'])})" if r["clip_ms"] is not None else "-"
        parts = " / ".join(fmt(r[f"video_{p}_ms"]) for p in ("decode", "preprocess", "inference"))
        peak = fmt(r["video_peak_mb"]) + (f" ({fmt(r['clip_peak_mb'])})" if r["clip_peak_mb"] is not None else "")
        lines.append(f"| {label} | {size} | {fmt(r['convert_s'])} | {r['parity'] or '-'} | {clip} "
                     f"| {fmt(r['video_s'], '.1f')} | {parts} | {peak} | {r['top1'] or '-'} |")
        if r["errors"]:
            lines.append(f"| {label}: errors | {'; '.join(r['errors'])} ||||||||")
    return write_results(out.with_suffix(".md"), lines, data={"meta": meta, "rows": rows}, echo=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="kinetics400-i3d model directory (default: pulled into --work)")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "sfc-sdk" / "bench-i3d")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arms", default=",".join([*ARMS, *REFS]), help=f"subset of {','.join([*ARMS, *REFS])}")
    parser.add_argument("--no-refs", action="store_true", help="skip the dense reference rows")
    parser.add_argument("--calib", type=Path, help="videos for an INT8 retry after a parity refusal")
    parser.add_argument("--reconvert", action="store_true", help="convert again even if cached in --work")
    parser.add_argument("--out", type=Path, default=RESULTS / "i3d_deploy.md")
    args = parser.parse_args()
    names = [a for a in args.arms.split(",") if a]
    unknown = [a for a in names if a not in ARMS and a not in REFS]
    if unknown:
        sys.exit(f"error: unknown arms {unknown}; choose from {[*ARMS, *REFS]}")
    arms, refs = [a for a in ARMS if a in names], [] if args.no_refs else [a for a in REFS if a in names]
    args.work.mkdir(parents=True, exist_ok=True)
    model = args.model
    if model is None:
        model = args.work / "model"
        if not (model / "config.json").is_file():
            log("pulling kinetics400-i3d ...")
            subprocess.run([str(CLI), "pull", "kinetics400-i3d", "-o", str(model), "--overwrite"], check=True)
    model = model.resolve()

    conv: dict[str, dict[str, dict]] = {a: {} for a in arms}
    for arm in arms:
        if ARMS[arm][1] is not None:
            for shape in SHAPES:
                conv[arm][shape] = convert(model, arm, shape, args.work, args.calib, args.reconvert)

    runs: dict[str, dict[str, list[dict]]] = {a: {"clip": [], "video": []} for a in arms}
    runs.update({a: {"video": []} for a in refs})
    for rep in range(args.repeats):
        for arm in rotated(arms, rep) + (refs if rep == 0 else []):
            if arm in REFS:
                jobs = [("video", str(model), REFS[arm][1])]
            else:
                bundle = {s: str(model) if ARMS[arm][1] is None else conv[arm][s]["bundle"] for s in SHAPES}
                jobs = [("clip", bundle["clip"], None), ("video", bundle["sfc"], [])]
            for kind, target, extra in jobs:
                if target is None:
                    continue  # conversion refused
                log(f"repeat {rep + 1}/{args.repeats} {arm} {kind} ...")
                result = predict(target, args.video, extra)
                runs[arm][kind].append(result)
                log(f"  {json.dumps({k: v for k, v in result.items() if k != 'timings_ms'})} "
                    f"{[round(t['inference']) for t in result.get('timings_ms', [])]}")

    rows = [summarize(a, ARMS[a][0], runs[a], conv[a]) for a in arms]
    rows += [summarize(a, REFS[a][0], runs[a], {}) for a in refs]
    meta = {"date": utc_now(),
            "machine": describe_machine(), "model": str(model), "video": str(args.video), "repeats": args.repeats,
            "args": " ".join(sys.argv[1:])}
    print(write(rows, meta, args.out))


if __name__ == "__main__":
    main()
