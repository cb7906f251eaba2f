"""Export formats, targets and runtimes, as declarative tables (cf. Ultralytics' `export_formats()`).

These tables are the single source for the CLI's choices, `sfc-sdk convert --help`,
`sfc-sdk formats`, the tables in docs/deploy.md, validation, runtime fallback and install
hints: every pip extra is named here and nowhere else in the code. A new format is a
converter file (`converters/`) and a row of FORMATS (which also makes it a `--target`);
a new runtime is a runtime file (`runtimes/`) and a row of RUNTIMES. Nothing here
imports a runtime or torch.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ConfigError

TORCH_EXTRA = "torch"  # PyTorch: model directories, training, converting (and the torch runtime)
PLOT_EXTRA = "plot"  # matplotlib: Prediction.plot, profile and benchmark figures
RAY_EXTRA = "ray"  # Ray Data and pyarrow: predict --engine ray, Parquet results


def extra_requirement(extra: str) -> str:
    """The requirement that installs one of the package's pip extras: sfc-sdk[EXTRA]."""
    return f"sfc-sdk[{extra}]"


def extra_hint(extra: str) -> str:
    """How to install one of the package's pip extras."""
    return f'pip install "{extra_requirement(extra)}"'


@dataclass(frozen=True)
class RuntimeSpec:
    """An inference backend: the adapter that wraps it and how to install it."""

    name: str  # --runtime value
    adapter: str  # module in sfc_sdk.runtimes whose `RUNTIME` class implements `Runtime`
    needs: str  # Python package the backend imports ("a|b": either will do)
    extra: str  # pip extra that installs it ("" where pip cannot: see `install`)
    description: str
    install: str = ""  # how to install it where no pip extra can
    aliases: tuple[str, ...] = ()  # other names people type for it

    @property
    def install_hint(self) -> str:
        return self.install or extra_hint(self.extra)

    def installed(self) -> bool:
        """The backend's package is importable here (checked without importing it)."""
        return any(importlib.util.find_spec(m) is not None for m in self.needs.split("|"))


RUNTIMES: tuple[RuntimeSpec, ...] = (
    RuntimeSpec("torch", "torch_runtime", "torch", TORCH_EXTRA,
                "PyTorch eager, CPU or CUDA: model directories, and the reference every export is checked against",
                aliases=("pytorch", "pt")),
    RuntimeSpec("onnxruntime", "onnxruntime_runtime", "onnxruntime", "onnx",
                "ONNX Runtime: CPU; CUDA/TensorRT providers where installed and usable", aliases=("ort",)),
    RuntimeSpec("openvino", "openvino_runtime", "openvino", "openvino", "OpenVINO: CPU, GPU, NPU", aliases=("ov",)),
    RuntimeSpec("tflite", "tflite_runtime", "ai_edge_litert|tflite_runtime", "tflite",
                "LiteRT (TFLite) interpreter with XNNPACK, CPU", aliases=("litert", "tfl")),
    RuntimeSpec("tensorrt", "tensorrt_runtime", "tensorrt", "", "TensorRT engine on an NVIDIA GPU",
                install="on Jetson it comes with JetPack; elsewhere NVIDIA's wheel from NVIDIA's package index",
                aliases=("trt",)),
)


@dataclass(frozen=True)
class ExportFormat:
    name: str  # --format value
    converter: str  # module in sfc_sdk.converters with a `Converter` subclass named CONVERTER
    runtimes: tuple[str, ...]  # RUNTIMES that run it, preferred first (ordered fallback)
    precisions: tuple[str, ...]  # what the converter produces, default first (the --target's default)
    extra: str  # pip extra with the exporter's dependencies (torch included)
    target_note: str  # what `--target NAME` is for
    note: str
    aliases: tuple[str, ...] = ()  # other names people type for it (--target, --format)


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("onnx", "onnx_converter", ("onnxruntime", "openvino"), ("fp32", "fp16"), "onnx-export",
                 "ONNX Runtime on any CPU",
                 "single-file ONNX, opset 18; runs in ONNX Runtime and OpenVINO. No INT8: ONNX Runtime's "
                 "QDQ Conv3d is slower than FP32 on CPU", aliases=("onnxruntime", "ort")),
    ExportFormat("openvino", "openvino_converter", ("openvino",), ("fp32", "fp16", "bf16", "int8"),
                 "openvino-export", "OpenVINO on Intel CPU/GPU/NPU",
                 "OpenVINO IR; fp16 compresses weights, bf16 runs an FP32 IR with the bf16 hint (2x on CPUs "
                 "with AMX/AVX512-BF16), INT8 by NNCF post-training quantization with calibration clips",
                 aliases=("ov", "ir")),
    ExportFormat("tflite", "tflite_converter", ("tflite",), ("fp32", "fp16"), "tflite-export",
                 "LiteRT on ARM and mobile CPUs",
                 "LiteRT via litert-torch; one static clip length per export; every Conv3d exported as "
                 "CONV_2D / DEPTHWISE_CONV_2D (XNNPACK) and 3D pooling as 2D pools, exactly. fp16 stores the "
                 "weights in fp16. No INT8", aliases=("litert", "tfl")),
    ExportFormat("tensorrt", "tensorrt_converter", ("tensorrt", "onnxruntime"), ("fp16", "fp32"), "onnx-export",
                 "TensorRT on NVIDIA GPUs",
                 "ONNX for TensorRT, fitted to and checked against the operator lists of the device's TensorRT "
                 "release and every later one (all from 8.2, JetPack 4.6, by default); the engine is built on the "
                 "device at first load and cached per bundle, GPU and TensorRT version in ~/.cache/sfc-sdk/engines",
                 aliases=("trt", "engine")),
)


@dataclass(frozen=True)
class Target:
    """What users type after --target: a format, or a device family with its defaults."""

    name: str
    format: str
    precision: str
    note: str
    aliases: tuple[str, ...] = ()


# Format targets: one per format, at its default precision. Devices and device families
# (jetson, raspberry-pi, intel, cuda, cpu, auto) are targets too: their profiles in
# sfc_sdk.devices pick the format and precision.
TARGETS: tuple[Target, ...] = tuple(Target(f.name, f.name, f.precisions[0], f.target_note, f.aliases)
                                    for f in FORMATS)


def export_formats() -> tuple[ExportFormat, ...]:
    return FORMATS


def targets() -> tuple[Target, ...]:
    return TARGETS


def list_runtimes() -> tuple[RuntimeSpec, ...]:
    return RUNTIMES


def get_runtime(name: str) -> RuntimeSpec:
    return _named(RUNTIMES, name, "runtime")


def get_format(name: str) -> ExportFormat:
    return _named(FORMATS, name, "format")


def get_target(name: str) -> Target:
    return _named(TARGETS, name, "target")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of `choices` to a mistyped `name`, else ''."""
    close = difflib.get_close_matches(name.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _find(table: tuple, name: str):
    """The row called `name` or one of its aliases (any case), or None."""
    key = name.lower()
    return next((r for r in table if key == r.name or key in r.aliases), None)


def _named(table: tuple, name: str, what: str):
    row = _find(table, name)
    if row is None:
        known = [n for r in table for n in (r.name, *r.aliases)]
        raise ConfigError(f"unknown {what} {name!r}{did_you_mean(name, known)}; choose one of "
                          f"{', '.join(r.name for r in table)}")
    return row


def target_names() -> list[str]:
    """Every format target name and alias (devices and families are the devices layer's)."""
    return [n for t in TARGETS for n in (t.name, *t.aliases)]


def is_format_target(name: str) -> bool:
    return _find(TARGETS, name) is not None


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
