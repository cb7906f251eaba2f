"""TensorRT: the bundle carries ONNX (FP32 weights); the engine is built on the device.

TensorRT engines are specific to one GPU model and TensorRT version, so they cannot
be built here and shipped: `runtimes.tensorrt_runtime` builds one at first load with
the bundle's precision (FP16 by default) and caches it in the user cache (`runtimes/engine_cache`).
"""

from __future__ import annotations

from pathlib import Path

from .base import Converter, ExportRequest, ExportResult
from .exportable import ExportableSFC
from .onnx_converter import add_metadata, export_onnx


class TensorRTConverter(Converter):
    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        path = add_metadata(export_onnx(module, request.shape, out_dir / "model.onnx"), request.metadata)
        note = (f"engine ({request.precision}) is built by TensorRT on the target GPU at first load and cached "
                "per user (~/.cache/sfc-sdk/engines); parity here is ONNX Runtime on the CPU with the same ONNX file")
        return ExportResult(path.name, (path.name,), (note,))


CONVERTER = TensorRTConverter
