"""TensorRT: the bundle carries ONNX (FP32 weights) that the device's TensorRT parses.

TensorRT engines are specific to one GPU model and TensorRT version, so they cannot
be built here and shipped: `runtimes.tensorrt_runtime` builds one at first load with
the bundle's precision (FP16 by default) and caches it in the user cache (`runtimes/engine_cache`).

The ONNX is written for the TensorRT releases it will meet (`tensorrt_compat`): a Jetson
profile names its JetPack's TensorRT; `--target tensorrt` alone fits every release the
table knows, back to JetPack 4.6's 8.2 (opset 13), so one bundle serves every Jetson.
The export fails, naming each problem, if a release's parser would still refuse it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ExportError
from .base import Converter, ExportRequest, ExportResult
from .exportable import ExportableSFC
from .onnx_converter import add_metadata, export_onnx
from .tensorrt_compat import check_for_tensorrt, common_opset, fit_for_tensorrt, tensorrt_release, tensorrt_releases


class TensorRTConverter(Converter):
    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        onnx = self.require("onnx")
        releases = [tensorrt_release(v) for v in request.runtime_versions or tensorrt_releases()]
        opset = common_opset(releases)
        path = export_onnx(module, request.shape, out_dir / "model.onnx", opset=opset,
                           model_dir_sha256=request.model_dir_sha256)
        model, rewrites = fit_for_tensorrt(onnx.load(str(path)), releases)
        for release in releases:
            problems = check_for_tensorrt(model, release)
            if problems:
                raise ExportError(f"TensorRT {release.version}'s ONNX parser would refuse this model: "
                                  + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if problems[5:] else ""))
        onnx.save(model, str(path))
        add_metadata(path, request.metadata)
        compatibility = {
            "tensorrt": [r.version for r in releases], "jetpack": [r.jetpack for r in releases],
            "onnx_opset": opset, "operators": sorted({n.op_type for n in model.graph.node}),
            "rewrites": rewrites, "checked_against": [r.source for r in releases],
        }
        note = (f"engine ({request.precision}) is built by TensorRT on the target GPU at first load and cached "
                "per user (~/.cache/sfc-sdk/engines); parity here is ONNX Runtime on the CPU with the same ONNX file; "
                f"ONNX opset {opset}, checked against the operator lists of TensorRT "
                + ", ".join(r.version for r in releases))
        return ExportResult(path.name, (path.name,), (note,), compatibility)


CONVERTER = TensorRTConverter
