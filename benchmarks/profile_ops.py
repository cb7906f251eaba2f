"""Where the time goes inside one exported graph: per-op timings from each runtime's own profiler.

    python -m benchmarks.profile_ops r3d_18 sfc_r4 onnxruntime
    python -m benchmarks.profile_ops default clips openvino-int8 --runs 20

Uses the exports benchmarks/speed.py keeps under runs/speed (made if missing):
ONNX Runtime's session profiler, OpenVINO's performance counters (PERF_COUNT), and
torch.profiler for PyTorch (the SDK's runtime, or torch-eager: the model as loaded).
Prints the op types by total time, and writes the table to
benchmarks/results/ops-MODEL-GRAPH-RUNTIME.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.harness import REPO, command, describe_machine, today, write_results
from benchmarks.speed import export, model_dir


def input_for(name: str, graph: str, work: Path) -> np.ndarray:
    from sfc_sdk import load_model

    _, config = load_model(model_dir(name, work))
    spec = config.input_spec
    batch = int(graph.split("_b")[1]) if "_b" in graph else 1
    shape = (batch, 3, spec.clip_len, spec.crop_size, spec.crop_size) if graph.startswith("clips") else \
        (1, 3, config.sfc.frames, spec.crop_size, spec.crop_size)
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


def ort_ops(path: Path, x: np.ndarray, runs: int) -> dict[str, float]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(3 + runs):
        session.run(None, {name: x})
    events = json.loads(Path(session.end_profiling()).read_text())
    totals: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            totals[e["args"]["op_name"]] += e["dur"] / 1000 / (3 + runs)  # us -> ms per call
    return totals


def ov_ops(path: Path, x: np.ndarray, runs: int, int8: bool) -> dict[str, float]:
    import openvino as ov

    config = {"PERF_COUNT": True, **({} if int8 else {"INFERENCE_PRECISION_HINT": "f32"})}
    request = ov.Core().compile_model(str(path), "CPU", config).create_infer_request()
    totals: dict[str, float] = collections.defaultdict(float)
    for i in range(3 + runs):
        request.infer({0: x})
        if i >= 3:
            for info in request.get_profiling_info():
                totals[f"{info.node_type} ({info.exec_type})"] += info.real_time.total_seconds() * 1000 / runs
    return totals


def torch_ops(name: str, graph: str, x: np.ndarray, runs: int, work: Path, optimize: bool) -> dict[str, float]:
    from torch.profiler import ProfilerActivity, profile

    from sfc_sdk import load_model
    from sfc_sdk.runtimes.torch_runtime import TorchRuntime

    runtime = TorchRuntime(load_model(model_dir(name, work))[0], "cpu", optimize=optimize)
    ratio = int(graph.split("_r")[1]) if graph.startswith("sfc") else None
    call = (lambda: runtime.run_sfc(x, ratio)) if ratio else (lambda: runtime.run_views(x))
    for _ in range(3):
        call()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(runs):
            call()
    return {e.key: e.self_cpu_time_total / 1000 / runs for e in prof.key_averages()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="default, r3d_18, r2plus1d_18 or x3d_s")
    ap.add_argument("graph", help="clips (one dense view), clips_b10 / clips_b30 (views in one batch), sfc_r2/4/8")
    ap.add_argument("runtime", choices=["torch", "torch-eager", "onnxruntime", "openvino", "openvino-int8"])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "speed")
    args = ap.parse_args()
    x = input_for(args.model, args.graph, args.work)
    if args.runtime.startswith("torch"):  # torch-eager: the model as loaded, without torch_fusion.py
        totals = torch_ops(args.model, args.graph, x, args.runs, args.work, optimize=args.runtime == "torch")
    else:
        path = export(args.model, args.runtime, args.graph, args.work)
        totals = ort_ops(path, x, args.runs) if args.runtime == "onnxruntime" else \
            ov_ops(path, x, args.runs, args.runtime == "openvino-int8")
    total = sum(totals.values())
    lines = [f"# Per-op time: {args.model} {args.graph} on {args.runtime}", "",
             f"{today()}, {describe_machine()}. `{command('profile_ops', [args.model, args.graph, args.runtime])}`: "
             f"mean per call over {args.runs} calls, the runtime's own profiler.", "",
             "| op | ms per call | share |", "|---|---:|---:|"]
    for op, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"| {op} | {ms:.2f} | {ms / total:.1%} |")
    lines.append(f"| all ops | {total:.2f} | 100% |")
    write_results(f"ops-{args.model}-{args.graph}-{args.runtime}", lines)


if __name__ == "__main__":
    main()
