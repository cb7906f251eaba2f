"""Which precision OpenVINO's CPU plugin really runs each layer in, for a bundle's IR.

    python scripts/openvino_precision.py BUNDLE_DIR [--hint bf16] [--mark-all]

Compiles BUNDLE_DIR/model.xml for the CPU with INFERENCE_PRECISION_HINT and counts the
compiled model's layers by type and runtime precision. `--mark-all` first marks every
operation `disable_fp16_compression` (the rt_info OpenVINO's transformations read to keep
an operation in its original precision), to see whether the plugin honours it under the hint.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

COMPUTE = ("Convolution", "GroupConvolution", "FullyConnected", "MatMul")


def runtime_precisions(xml: Path, hint: str, mark_all: bool) -> Counter:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(xml))
    if mark_all:
        for op in model.get_ops():
            op.get_rt_info()["disable_fp16_compression"] = ""
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint})
    counts: Counter = Counter()
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        layer = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
        if layer in COMPUTE:
            counts[(layer, info["runtimePrecision"].astype(str))] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--hint", default="bf16", choices=("bf16", "f16", "f32"))
    ap.add_argument("--mark-all", action="store_true")
    args = ap.parse_args()
    for (layer, precision), n in sorted(runtime_precisions(args.bundle / "model.xml", args.hint,
                                                           args.mark_all).items()):
        print(f"{layer:18s} {precision:5s} {n}")


if __name__ == "__main__":
    main()
