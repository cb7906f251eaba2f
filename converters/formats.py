"""The export formats, as one declarative table (cf. Ultralytics' `export_formats()`).

This table is the single source for the CLI's choices, the docs and validation.
Converters themselves (one file per format) implement `converters.base.Converter`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    name: str  # --format value
    suffix: str  # model file suffix inside a bundle
    runtime: str  # runtime adapter that runs it (sfc_sdk.runtimes)
    precisions: tuple[str, ...]  # what the converter can produce
    extra: str  # pip extra with the exporter's dependencies
    note: str


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("onnx", ".onnx", "onnxruntime", ("fp32", "fp16"), "onnx",
                 "single-file ONNX, opset 18; feeds ONNX Runtime, OpenVINO and TensorRT"),
    ExportFormat("openvino", ".xml", "openvino", ("fp32", "fp16", "bf16", "int8"), "openvino",
                 "OpenVINO IR; INT8 by NNCF post-training quantization"),
    ExportFormat("tflite", ".tflite", "tflite", ("fp32", "fp16"), "tflite",
                 "LiteRT via litert-torch; one static clip length per export"),
    ExportFormat("tensorrt", ".onnx", "tensorrt", ("fp16",), "tensorrt",
                 "ONNX FP16; the engine is built and cached on the device at first load"),
)


def export_formats() -> tuple[ExportFormat, ...]:
    return FORMATS


def get_format(name: str) -> ExportFormat:
    for f in FORMATS:
        if f.name == name:
            return f
    raise KeyError(f"unknown format {name!r}; choose one of {', '.join(f.name for f in FORMATS)}")
