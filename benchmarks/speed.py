"""SFC against dense sampling, every backbone x runtime, end to end on this machine.

    python -m benchmarks.speed                       # everything (long: exports + ~400 processes)
    python -m benchmarks.speed --models default --runtimes torch,openvino

For r3d_18, r2plus1d_18, x3d_s (random weights: speed does not depend on them) and
the bundled model: dense 1x1 / 10x1 / 10x3 views against SFC at ratios 2, 4, 8, on
PyTorch, ONNX Runtime, OpenVINO FP32 and INT8 (NNCF) and TFLite. Every configuration
runs in a fresh process (speed_worker.py): latency per video end to end, decoding
included (median of --runs after warm-up), its parts, and the process's peak memory.
Efficiency = measured speedup over 30 views (the faster of one batch and one clip per
call) / GMAC speedup. `--runtimes ...,torch-eager` adds PyTorch running the model as
loaded, without the runtime's BatchNorm folding and channels-last (the "before").

Exports and results are kept under --work; a second run only does what is missing.
Writes benchmarks/results/speed.md, .jsonl and .png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from benchmarks.harness import (
    CLIPS,
    REPO,
    RESULTS,
    WEIZMANN,
    command,
    describe_machine,
    last_json,
    module_command,
    today,
    write_results,
)

VIDEO = CLIPS / "arm_wrestling_kinetics.mp4"  # 10 s of Kinetics, H.264
CALIB = WEIZMANN
MODELS = ("default", "r2plus1d_18", "r3d_18", "x3d_s")
RUNTIMES = ("torch", "onnxruntime", "openvino", "openvino-int8", "tflite")
# Dense views run as one batch per video (what test-time view averaging does, and what
# Recognizer does); "seq" runs the 30 views one clip at a time: slower, but its memory
# is one clip's.
METHODS = ("dense 1x1", "dense 10x1", "dense 10x3", "dense 10x3 seq", "sfc r2", "sfc r4", "sfc r8")
BASELINES, TARGET = ("dense 10x3", "dense 10x3 seq"), "sfc r4"


def model_dir(name: str, work: Path) -> Path:
    """The bundled model, or a backbone with random weights (and an untrained SFC module)."""
    from sfc_sdk.defaults import default_model_dir

    if name == "default":
        return default_model_dir()
    out = work / "models" / name
    if not (out / "config.json").exists():
        import torch

        from sfc_sdk import ModelConfig, SFCModel, save_model

        torch.manual_seed(0)
        config = ModelConfig(backbone=name, labels=tuple(f"class_{i}" for i in range(400)), name=f"{name}-random")
        save_model(SFCModel.from_config(config), config, out)
    return out


def graph_for(method: str) -> str:
    """The exported graph a method runs: clip models at one batch size, or SFC at one ratio."""
    if not method.startswith("dense"):
        return method.replace(" ", "_")  # sfc_r4
    if method.endswith("seq"):
        return "clips"
    from sfc_sdk.video.sampling import Views

    views = Views.parse(method.split()[1]).count
    return "clips" if views == 1 else f"clips_b{views}"


def export(name: str, runtime: str, graph: str, work: Path) -> Path:
    """The model file a runtime loads for one graph (clip model or SFC at one ratio), made once."""
    from sfc_sdk import load_model
    from sfc_sdk.converters.base import ExportRequest, converter_for
    from sfc_sdk.converters.exportable import ExportableClips, ExportableSFC, ExportShape, export_shape
    from sfc_sdk.formats import get_format

    fmt = {"onnxruntime": "onnx", "openvino": "onnx", "openvino-int8": "openvino", "tflite": "tflite"}[runtime]
    precision = "int8" if runtime == "openvino-int8" else "fp32"
    out = work / "exports" / name / graph / f"{fmt}-{precision}"
    names = {"onnx": "model.onnx", "openvino": "model.xml", "tflite": "model.tflite"}
    if (out / names[fmt]).exists():
        return out / names[fmt]
    net, config = load_model(model_dir(name, work))
    if graph.startswith("clips"):
        spec = config.input_spec
        batch = int(graph.split("_b")[1]) if "_b" in graph else 1
        shape = ExportShape(frames=spec.clip_len, ratio=1, crop=spec.crop_size, head_stride=1, batch=batch)
        module = ExportableClips(net)
    else:
        shape = export_shape(net, config, ratio=int(graph.split("_r")[1]))
        module = ExportableSFC(net, shape.ratio)
    calibration = calibration_inputs(shape, config) if precision == "int8" else []
    out.mkdir(parents=True, exist_ok=True)
    result = converter_for(get_format(fmt)).export(module, ExportRequest(precision, shape, calibration), out)
    return out / result.model_file


def calibration_inputs(shape, config, count: int = 8) -> list:
    """Real preprocessed inputs from Weizmann clips (the weights are random: this only
    sets the INT8 ranges, which do not change the speed)."""
    import numpy as np

    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.preprocess import dense_input, dense_plan, sfc_input
    from sfc_sdk.video.sampling import Views, uniform_indices

    spec = config.input_spec
    clips = sorted(CALIB.glob("*/*.avi"))[:: max(1, 70 // count)][:count]
    if shape.frames == spec.clip_len and shape.ratio == 1:  # a clip graph: `batch` views per input
        plan, short = dense_plan(spec, Views(1, 1))
        views = [dense_input(sample_frames(str(c), plan, short).frames, spec, Views(1, 1)) for c in clips]
        return [np.concatenate([views[(i + j) % len(views)] for j in range(shape.batch)])
                for i in range(count if shape.batch == 1 else 4)]
    return [sfc_input(sample_frames(str(c), lambda n: uniform_indices(n, shape.frames), spec.resize_size).frames, spec)
            for c in clips]


def gmacs(name: str, work: Path) -> dict[str, float | None]:
    """GMACs per method; None for an SFC ratio the network does not run (its row records the error)."""
    from sfc_sdk import load_model
    from sfc_sdk.errors import ConfigError
    from sfc_sdk.model.flops import sfc_gmacs, view_gmacs
    from sfc_sdk.video.sampling import Views

    net, config = load_model(model_dir(name, work))
    spec = config.input_spec
    view = view_gmacs(net, spec.clip_len, spec.crop_size)
    out: dict[str, float | None] = {m: view * Views.parse(m.split()[1]).count for m in METHODS if m.startswith("dense")}
    for m in METHODS:
        if m.startswith("sfc"):
            ratio = int(m.split("r")[-1])
            try:
                net.kept_steps(config.sfc.frames, ratio)  # raises where the tail cannot take what is kept
                out[m] = sfc_gmacs(net, config.sfc.frames, ratio, spec.crop_size).total
            except ConfigError:  # e.g. 3D ShuffleNet's tail needs a multiple of 4 steps: no ratio 8 at 64 frames
                out[m] = None
    return out


def measure(name: str, runtime: str, method: str, work: Path, video: Path, runs: int) -> dict:
    cmd = module_command("speed_worker", model_dir(name, work), runtime, method, video, "--runs", runs)
    try:
        if not runtime.startswith("torch"):
            cmd += ["--file", str(export(name, runtime, graph_for(method), work))]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, cwd=REPO)
    except Exception as e:  # noqa: BLE001 - an export that fails is a row, not the end of the benchmark
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return last_json(done.stdout)


def key(r: dict) -> tuple[str, str, str]:
    return r["model"], r["runtime"], r["method"]


def inference_mb(r: dict) -> float:
    """What running the video added to the peak, over the process with its model loaded."""
    return r["peak_mb"] - r["loaded_mb"]


def baseline(by: dict, model: str, runtime: str) -> dict | None:
    """30 views the faster way on this runtime: one batch, or one clip per call ("seq")."""
    modes = [r for r in (by.get((model, runtime, m)) for m in BASELINES) if r and "error" not in r]
    return min(modes, key=lambda r: r["total_ms"]) if modes else None


def summary_row(by: dict, model: str, runtime: str) -> str:
    d, s = baseline(by, model, runtime), by.get((model, runtime, TARGET))
    if not d or not s or "error" in s:
        err = next((r["error"] for r in [s, *(by.get((model, runtime, m)) for m in BASELINES)]
                    if r and "error" in r), "not measured")
        return f"| {model} | {runtime} | {err} |" + "|" * 11
    speed, gain = d["total_ms"] / s["total_ms"], d["gmacs"] / s["gmacs"]
    # What SFC would reach if its network ran at the dense network's ms per GMAC: the
    # decode and preprocessing it cannot shrink set this ceiling.
    limit = d["total_ms"] / (s["decode_ms"] + s["preprocess_ms"] + d["network_ms"] / gain)
    mode = "seq" if d["method"].endswith("seq") else "batch"
    mem = [by.get((model, runtime, m)) for m in BASELINES]
    inf = " / ".join(f"{inference_mb(r):.0f}" if r and "error" not in r else "-" for r in [*mem, s])
    batch = mem[0] if mem[0] and "error" not in mem[0] else None
    vs_batch = f"{inference_mb(batch) / max(inference_mb(s), 1):.1f}x" if batch else "-"
    peak = f"{batch['peak_mb'] / s['peak_mb']:.1f}x" if batch else "-"
    return (f"| {model} | {runtime} | {d['total_ms']:.0f} ({mode}) | {s['total_ms']:.0f} | {speed:.1f}x | "
            f"{gain:.1f}x | {speed / gain:.2f} | {limit:.1f}x | {d['network_ms'] / s['network_ms']:.1f}x | "
            f"{s['decode_ms']:.0f} | {inf} | {vs_batch} | {peak} |")


def table(rows: list[dict], meta: dict) -> str:
    by = {key(r): r for r in rows}
    lines = ["# Speed: SFC against dense sampling, every backbone x runtime", "",
             f"{meta['date']}, {meta['machine']}. `{command('speed', meta['args'])}`. Video: "
             f"{meta['video']} ({meta['video_frames']} frames, H.264), decoded in every call. Latency: median of "
             f"{meta['runs']} calls after one warm-up, each configuration in a fresh process. Peak MB: that "
             "process's resident high-water mark (Python, the runtime, the model and the run); inference MB: what "
             "the run added to the peak of the process with the model loaded. 'dense 10x3' runs the 30 views as "
             "one batch per video (exported graphs with that static batch), 'dense 10x3 seq' one clip per call. "
             "torch is the SDK's PyTorch runtime (BatchNorm folded, channels-last: runtimes/torch_fusion.py); "
             "torch-eager is the model as loaded, the 'before'.", "",
             f"## {TARGET.upper()} against 30 views (targets: >= 8x faster end to end, >= 5x less peak memory, "
             "efficiency >= 0.85)", "",
             "Speed against the faster of the two 30-view modes on the same runtime; efficiency = speedup / "
             "GMAC speedup; decode limit = the speedup SFC would reach if its network ran at the dense "
             "network's ms per GMAC (decoding and preprocessing are not compressed). Memory against the batched "
             "30 views (the paper's comparison): one clip per call needs only one clip's memory, as does SFC.", "",
             "| model | runtime | 30 views ms | SFC r4 ms | speedup | GMAC speedup | efficiency | decode limit | "
             "network-only speedup | decode ms | inference MB: 30 batch / 30 seq / SFC r4 | memory vs batch "
             "| peak MB vs batch |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [summary_row(by, model, runtime) for model in meta["models"] for runtime in meta["runtimes"]]
    lines += ["", "## Every configuration", "",
              "| model | runtime | method | GMACs | total ms | decode ms | preprocess ms | network ms | peak MB |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            cost = "-" if r["gmacs"] is None else f"{r['gmacs']:.1f}"
            lines.append(f"| {r['model']} | {r['runtime']} | {r['method']} | {cost} | failed: "
                         f"{r['error']} |||||")
            continue
        lines.append(f"| {r['model']} | {r['runtime']} | {r['method']} | {r['gmacs']:.1f} | {r['total_ms']:.0f} | "
                     f"{r['decode_ms']:.0f} | {r['preprocess_ms']:.0f} | {r['network_ms']:.0f} | "
                     f"{r['peak_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], meta: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = meta["models"]
    fig, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for runtime in meta["runtimes"]:
            pts = [r for r in rows if r["model"] == model and r["runtime"] == runtime and "error" not in r]
            if not pts:
                continue
            ax.plot([r["gmacs"] for r in pts], [r["total_ms"] for r in pts], "o-", label=runtime)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(model)
        ax.set_xlabel("GMACs per video")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("latency per video, ms (decode included)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("Latency against compute: SFC r2/r4/r8 (left) to dense 1/10/30 views (right)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "speed")
    ap.add_argument("--out", type=Path, default=RESULTS / "speed.md")
    ap.add_argument("--export-only", action="store_true", help="only make the exports (no timing: any machine load)")
    ap.add_argument("--report", action="store_true", help="only write the table and plot from the results so far")
    args = ap.parse_args(argv)
    if not args.video.is_file():
        sys.exit(f"error: video not found: {args.video} (see ../shared/data/README.md)")
    models, runtimes, methods = (args.models.split(","), args.runtimes.split(","), args.methods.split(","))
    args.work.mkdir(parents=True, exist_ok=True)
    done_path = args.work / "results.jsonl"
    done = {key(r): r for r in map(json.loads, done_path.read_text().splitlines())} if done_path.exists() else {}
    jobs = [(m, rt, me) for m in models for rt in runtimes for me in methods if (m, rt, me) not in done]
    if args.report:
        jobs = []
    if args.export_only:
        graphs = sorted({(m, rt, graph_for(me)) for m, rt, me in jobs if not rt.startswith("torch")})
        for m, rt, g in tqdm(graphs, desc="export", unit="graph"):
            try:
                export(m, rt, g, args.work)
            except Exception as e:  # noqa: BLE001 - reported again as the row's error when measured
                tqdm.write(f"{m} {rt} {g}: {type(e).__name__}: {str(e)[:160]}")
        return
    costs = {m: gmacs(m, args.work) for m in models} if jobs else {}
    with done_path.open("a") as log:
        for model, runtime, method in tqdm(jobs, desc="speed", unit="config"):
            cost = costs[model][method]
            row = {"model": model, "runtime": runtime, "method": method, "gmacs": cost,
                   **(measure(model, runtime, method, args.work, args.video, args.runs) if cost is not None else
                      {"error": f"ConfigError: the network does not run {method} at its input length"})}
            log.write(json.dumps(row) + "\n")
            log.flush()
            done[key(row)] = row
            tqdm.write(f"{model} {runtime} {method}: " + (row.get("error") or f"{row['total_ms']:.0f} ms"))
    rows = [done[(m, rt, me)] for m in models for rt in runtimes for me in methods if (m, rt, me) in done]
    frames = next((r["video_frames"] for r in rows if "video_frames" in r), 0)
    meta = {"date": today(), "machine": describe_machine(), "runs": args.runs,
            "args": " ".join(argv if argv is not None else sys.argv[1:]), "video": args.video.name,
            "video_frames": frames, "models": models, "runtimes": runtimes}
    write_results(args.out, table(rows, meta), rows=rows, echo=False)
    plot(rows, meta, args.out.with_suffix(".png"))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
