"""OpenVINO INT8 of the bundled model: quantizing grouped convolutions or keeping them float.

    python -m benchmarks.openvino_int8

OpenVINO's CPU plugin ran the bundled 3D ShuffleNet's grouped and depthwise convolutions
wrongly in INT8 on a Xeon with AMX, so the SDK's INT8 export keeps them float
(`converters/openvino_converter.py`). This script shows both IRs side by side on this
CPU: top-1 agreement with PyTorch on the export's own calibration inputs (real Weizmann
clips) and the median latency of one SFC pass, next to FP32 and BF16. Writes
benchmarks/results/openvino_int8.md.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import RESULTS, WEIZMANN, command, measured, median, write_results

DATA = WEIZMANN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS / "openvino_int8.md")
    args = parser.parse_args()

    import nncf
    import onnx
    import openvino as ov
    import torch

    from sfc_sdk.converters.exportable import ExportableSFC, export_shape
    from sfc_sdk.converters.onnx_converter import export_onnx
    from sfc_sdk.converters.openvino_converter import sfc_node_names
    from sfc_sdk.converters.parity import reference_inputs
    from sfc_sdk.defaults import default_model_dir
    from sfc_sdk.model import load_model

    net, config = load_model(default_model_dir())
    shape = export_shape(net, config, None, None)
    inputs, _ = reference_inputs(shape.frames, config, DATA)
    module = ExportableSFC(net, shape.ratio)
    with torch.no_grad():
        reference = [int(np.argmax(module(torch.from_numpy(x))[0].numpy())) for x in inputs]
    core = ov.Core()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(module, shape, Path(tmp) / "model.onnx")
        keep_float = [re.escape(n) + "(/.*)?" for n in sfc_node_names(onnx, onnx_path)]

        def quantized(**ignored) -> object:
            scope = nncf.IgnoredScope(patterns=keep_float, validate=False, **ignored)
            return nncf.quantize(core.read_model(str(onnx_path)), nncf.Dataset(inputs), subset_size=len(inputs),
                                 ignored_scope=scope)

        arms = {
            "FP32 (f32 hint)": (core.read_model(str(onnx_path)), {"INFERENCE_PRECISION_HINT": "f32"}),
            "FP32 IR, BF16 hint": (core.read_model(str(onnx_path)), {"INFERENCE_PRECISION_HINT": "bf16"}),
            "INT8, grouped convs quantized (before)": (quantized(), {}),
            "INT8, grouped convs float (the SDK's)": (quantized(types=["GroupConvolution"]), {}),
        }
        rows = []
        for name, (model, config_) in arms.items():
            compiled = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": "LATENCY", **config_})
            agree = np.mean([int(np.argmax(compiled(x)[0])) == r for x, r in zip(inputs, reference, strict=True)])
            for _ in range(5):
                compiled(inputs[0])
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                compiled(inputs[0])
                times.append((time.perf_counter() - start) * 1000)
            rows.append(f"| {name} | {agree:.0%} | {median(times):.1f} |")
    lines = [f"{measured(command('openvino_int8', ''))}: the "
             f"bundled model, {shape.frames} frames at ratio {shape.ratio}; top-1 agreement with PyTorch on the "
             f"{len(inputs)} calibration inputs (real Weizmann clips); median ms of {args.runs} SFC passes.", "",
             "| IR | top-1 agreement with PyTorch | ms |", "|---|---:|---:|", *rows]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
