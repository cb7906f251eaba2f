"""One configuration of the speed benchmark, in a fresh process of its own (see speed.py).

    python -m benchmarks.speed_worker MODEL_DIR RUNTIME METHOD VIDEO [--file EXPORTED] [--runs N]

Prints one JSON object: per-video latency end to end (median of --runs after warm-up),
its parts (decode, preprocess, network) and this process's peak resident memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

Run = Callable[[np.ndarray], np.ndarray]  # one network input -> logits


def torch_runner(net, method: str, optimize: bool = True) -> Run:
    """The SDK's PyTorch runtime (BatchNorm folded, channels-last: torch_fusion.py)."""
    from sfc_sdk.runtimes.torch_runtime import TorchRuntime

    runtime = TorchRuntime(net, "cpu", optimize=optimize)
    if method.startswith("sfc"):
        ratio = int(method[len("sfc r"):])
        return lambda x: runtime.run_sfc(x, ratio)[0]
    return runtime.run_views


def exported_runner(runtime: str, path: str) -> Run:
    """The exported graph in its runtime, set up as the SDK's runtime adapters set it up."""
    if runtime == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]
    if runtime.startswith("openvino"):
        import openvino as ov

        config = {} if runtime == "openvino-int8" else {"INFERENCE_PRECISION_HINT": "f32"}
        compiled = ov.Core().compile_model(path, "CPU", config)
        request = compiled.create_infer_request()
        return lambda x: request.infer({0: x})[compiled.outputs[0]]
    if runtime == "tflite":
        from sfc_sdk.runtimes.tflite_runtime import load_interpreter_class

        interp = load_interpreter_class()(model_path=path, num_threads=os.cpu_count())
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]["index"]
        out = next(o["index"] for o in interp.get_output_details() if o["dtype"] == np.float32)

        def run(x: np.ndarray) -> np.ndarray:
            interp.set_tensor(inp, x)
            interp.invoke()
            return interp.get_tensor(out).copy()

        return run
    raise SystemExit(f"unknown runtime {runtime}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("runtime")
    ap.add_argument("method")  # "dense 10x3", "dense 10x3 seq" or "sfc r4"
    ap.add_argument("video")
    ap.add_argument("--file", help="exported model file (not for torch)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()

    from sfc_sdk import load_model
    from sfc_sdk.inference.memory import peak_rss_mb, reset_peak_rss
    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.preprocess import dense_input, dense_plan, sfc_input
    from sfc_sdk.video.sampling import Views, uniform_indices

    net, config = load_model(args.model)
    spec = config.input_spec
    if args.runtime in ("torch", "torch-eager"):  # torch-eager: the model as loaded (no folding, NCDHW)
        run = torch_runner(net, args.method, optimize=args.runtime == "torch")
        del net  # the runtime holds its own inference copy; keep one set of weights in memory
    else:
        run = exported_runner(args.runtime, args.file)
    # Peaks are measured from here, the model loaded: loading's own transient (torch's
    # inference copy briefly holds two sets of weights) is not part of running a video.
    gc.collect()
    reset_peak_rss()
    loaded_mb = peak_rss_mb()

    if args.method.startswith("sfc"):
        frames = config.sfc.frames

        def plan(n: int) -> list[int]:
            return uniform_indices(n, frames)

        short = spec.resize_size
        prepare = lambda f: sfc_input(f, spec)  # noqa: E731
        calls = lambda x: [x]  # noqa: E731
    else:
        views = Views.parse(args.method.split()[1])
        plan, short = dense_plan(spec, views)
        prepare = lambda f: dense_input(f, spec, views)  # noqa: E731
        # All views in one batch (as Recognizer does), or "seq": one clip per call.
        calls = (lambda x: [x[i:i + 1] for i in range(len(x))]) if args.method.endswith("seq") else (lambda x: [x])  # noqa: E731

    parts = []
    for i in range(args.warmup + args.runs):
        t0 = time.perf_counter()
        clip = sample_frames(args.video, plan, short)
        t1 = time.perf_counter()
        x = prepare(clip.frames)
        t2 = time.perf_counter()
        logits = [run(np.ascontiguousarray(c)) for c in calls(x)]
        t3 = time.perf_counter()
        if i >= args.warmup:
            parts.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    assert np.isfinite(np.concatenate([np.asarray(v).ravel() for v in logits])).all()
    med = [statistics.median(p[k] for p in parts) * 1000 for k in range(4)]
    print(json.dumps({"decode_ms": med[0], "preprocess_ms": med[1], "network_ms": med[2], "total_ms": med[3],
                      "total_all_ms": [p[3] * 1000 for p in parts], "used_frames": len(set(clip.indices)),
                      "video_frames": clip.num_frames, "peak_mb": peak_rss_mb(), "loaded_mb": loaded_mb}))


if __name__ == "__main__":
    main()
