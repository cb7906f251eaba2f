"""The export formats and targets, as declarative tables (cf. Ultralytics' `export_formats()`).

These tables are the single source for the CLI's choices, `sfc-sdk convert --help`,
the README's table and validation. Each converter lives in its own file and is
looked up here by format name.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfc_sdk.errors import ConfigError


@dataclass(frozen=True)
class ExportFormat:
    name: str  # --format value
    converter: str  # module in sfc_sdk.converters with a `Converter` subclass named CONVERTER
    runtimes: tuple[str, ...]  # runtime adapters that run it, preferred first (ordered fallback)
    precisions: tuple[str, ...]  # what the converter produces, default first
    extra: str  # pip extra with the exporter's dependencies
    note: str


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("onnx", "onnx_converter", ("onnxruntime", "openvino"), ("fp32", "fp16"), "onnx",
                 "single-file ONNX, opset 18; runs in ONNX Runtime and OpenVINO. No INT8: ONNX Runtime's "
                 "QDQ Conv3d is slower than FP32 on CPU"),
    ExportFormat("openvino", "openvino_converter", ("openvino",), ("fp32", "fp16", "bf16", "int8"), "openvino",
                 "OpenVINO IR; fp16 compresses weights, bf16 runs an FP32 IR with the bf16 hint (2x on CPUs "
                 "with AMX/AVX512-BF16), INT8 by NNCF post-training quantization with calibration clips"),
    ExportFormat("tflite", "tflite_converter", ("tflite",), ("fp32", "fp16"), "tflite-export",
                 "LiteRT via litert-torch; one static clip length per export; factorised Conv3d exported as "
                 "CONV_2D (XNNPACK). fp16 stores those weights in fp16 (any remaining CONV_3D stays fp32). "
                 "No INT8: LiteRT keeps CONV_3D float"),
    ExportFormat("tensorrt", "tensorrt_converter", ("tensorrt", "onnxruntime"), ("fp16", "fp32"), "tensorrt",
                 "ONNX for TensorRT; the engine is built on the device at first load and cached beside "
                 "the bundle (engines are not portable between GPUs or TensorRT versions)"),
)


@dataclass(frozen=True)
class Target:
    """What users type after --target: a format, or a device family with its defaults."""

    name: str
    format: str
    precision: str
    note: str


# Format targets. Devices and device families (jetson, raspberry-pi, intel, cuda, cpu,
# auto) are targets too: their profiles in sfc_sdk.devices pick the format and precision.
TARGETS: tuple[Target, ...] = (
    Target("onnx", "onnx", "fp32", "ONNX Runtime on any CPU"),
    Target("openvino", "openvino", "fp32", "OpenVINO on Intel CPU/GPU/NPU"),
    Target("tflite", "tflite", "fp32", "LiteRT on ARM and mobile CPUs"),
    Target("tensorrt", "tensorrt", "fp16", "TensorRT on NVIDIA GPUs"),
)


def export_formats() -> tuple[ExportFormat, ...]:
    return FORMATS


def targets() -> tuple[Target, ...]:
    return TARGETS


def get_format(name: str) -> ExportFormat:
    for f in FORMATS:
        if f.name == name:
            return f
    raise ConfigError(f"unknown format {name!r}; choose one of {', '.join(f.name for f in FORMATS)}")


def get_target(name: str) -> Target:
    for t in TARGETS:
        if t.name == name:
            return t
    raise ConfigError(f"unknown target {name!r}; choose one of {', '.join(t.name for t in TARGETS)}")


def resolve(target: str, fmt: str | None = None, precision: str | None = None) -> tuple[ExportFormat, str]:
    """Format and precision for a format target, with the user's overrides checked against the table."""
    t = get_target(target)
    return with_overrides(t.format, t.precision, fmt, precision)


def with_overrides(default_format: str, default_precision: str, fmt: str | None,
                   precision: str | None) -> tuple[ExportFormat, str]:
    f = get_format(fmt or default_format)
    p = precision or (default_precision if f.name == default_format else f.precisions[0])
    if p not in f.precisions:
        why = ""
        if p == "int8":
            why = " (INT8 is offered only where it is faster: OpenVINO; use --format openvino)"
        raise ConfigError(f"{f.name} export offers {', '.join(f.precisions)}, not {p}{why}")
    return f, p
