"""I3D's SFC graph with the stem head whole or in chunks of time, in ONNX Runtime and OpenVINO:
inference memory and time.

    python -m benchmarks.i3d_export_memory --model kinetics400-i3d/ --work WORK [--repeats 3]

ONNX exports run the stem head of I3D `HEAD_CHUNK_STEPS` head steps at a time
(`ExportableSFC.with_chunked_head`; sdk/model/backbones/i3d_chunked_stem.py). This script
exports the model's SFC pass (its frames and ratio) twice into WORK (kept), with the head
whole and in chunks, and runs each graph in a fresh process per arm, interleaved:

    onnxruntime:whole  onnxruntime:chunked  openvino:whole  openvino:chunked  (OpenVINO FP32)

*Inference MB*: the process's peak RSS over 3 calls (its high-water mark reset once the
graph is compiled and the float input made) minus its RSS then (the network alone: no
decoding, no input); *ms*: the median of the 2 warm calls. *Max diff*: the largest logit
difference from onnxruntime:whole.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.harness import (
    RESULTS,
    command,
    interleave,
    markdown_table,
    measured,
    median,
    module_command,
    run_json,
    utc_now,
    write_results,
)

ARMS = ("onnxruntime:whole", "onnxruntime:chunked", "openvino:whole", "openvino:chunked")


def worker(arm: str, graph: str) -> None:
    """One arm in this process: the graph on a fixed random input, 3 calls."""
    import numpy as np

    runtime = arm.split(":")[0]
    if runtime == "onnxruntime":
        import onnxruntime as ort

        session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
        shape = session.get_inputs()[0].shape
        run = lambda x: session.run(None, {session.get_inputs()[0].name: x})[0]
    else:
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(core.read_model(graph), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        shape = list(compiled.input(0).shape)
        request = compiled.create_infer_request()
        run = lambda x: request.infer({0: x})[compiled.output(0)].copy()
    from sfc_sdk.inference.memory import peak_rss_mb, reset_peak_rss

    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    if not reset_peak_rss():  # the calls' peak, not the compile's: the high-water mark starts at the RSS now
        sys.exit("peak memory is measured on Linux only (/proc/self/clear_refs)")
    base = peak_rss_mb()
    times, logits = [], None
    for _ in range(3):
        tick = time.perf_counter()
        logits = run(x)
        times.append((time.perf_counter() - tick) * 1000)
    peak = peak_rss_mb() - base
    print(json.dumps({"inference_mb": peak, "ms": statistics.median(times[1:]), "logits": logits.ravel().tolist()}))


def export(model_dir: Path, work: Path) -> dict[str, Path]:
    """The model's SFC pass as ONNX with the head whole and in chunks, once into `work`."""
    from sfc_sdk.converters.exportable import ExportableSFC, export_shape
    from sfc_sdk.converters.onnx_converter import export_onnx
    from sfc_sdk.model import HEAD_CHUNK_STEPS, load_model

    work.mkdir(parents=True, exist_ok=True)
    graphs = {"whole": work / "whole.onnx", "chunked": work / "chunked.onnx"}
    if all(p.is_file() for p in graphs.values()):
        return graphs
    net, config = load_model(model_dir)
    shape = export_shape(net, config)
    for name, chunk in (("whole", None), ("chunked", HEAD_CHUNK_STEPS)):
        print(f"exporting the {name} head: {shape.frames} frames at ratio {shape.ratio}", file=sys.stderr, flush=True)
        export_onnx(ExportableSFC(net, shape.ratio), shape, graphs[name], head_chunk=chunk)
    return graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--work", type=Path, help="folder for the two ONNX exports (kept; required)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "i3d_export_memory.md")
    parser.add_argument("--worker", nargs=2, metavar=("ARM", "GRAPH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker)
    if args.work is None:
        parser.error("--work is required")

    graphs = export(args.model, args.work)

    def measure(arm: str, rep: int) -> dict:
        return run_json(module_command("i3d_export_memory", "--worker", arm, graphs[arm.split(":")[1]]), what=arm)

    def report(arm: str, rep: int, result: dict) -> None:
        print(f"repeat {rep + 1}/{args.repeats} {arm}: {result['inference_mb']:.0f} MB, {result['ms']:.0f} ms",
              file=sys.stderr, flush=True)

    runs = interleave(list(ARMS), args.repeats, measure, progress=report)
    reference = runs[ARMS[0]][0]["logits"]

    def diff(arm: str) -> float:
        return max(abs(a - b) for r in runs[arm] for a, b in zip(r["logits"], reference, strict=True))

    rows = [[arm, f"{median(r['inference_mb'] for r in runs[arm]):.0f}", f"{median(r['ms'] for r in runs[arm]):.0f}",
             f"{diff(arm):.1e}"] for arm in ARMS]
    cmd = command("i3d_export_memory", f"--work WORK --repeats {args.repeats}")
    write_results(args.out, [f"{measured(cmd, when=utc_now() + ' UTC')}: the SFC graph of `{args.model.name}` "
                             f"({graphs['whole'].stat().st_size / 2**20:.0f} MB of ONNX) on one random float "
                             f"input; medians over {args.repeats} fresh processes, arms interleaved.", "",
                             *markdown_table(["arm", "inference MB", "ms (warm)", "max diff"], rows, align="lrrr")])


if __name__ == "__main__":
    main()
