"""The converter interface: the fixed-shape SFC module in, model files out.

Converters only write files. Parity checks, checksums and the manifest are the
same for every format and live in `converters.export` (`export_bundle`).
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import numpy as np

from ..config import ModelConfig
from ..errors import RuntimeUnavailableError
from ..formats import ExportFormat, extra_hint
from .exportable import ExportableSFC, ExportShape


@dataclass(frozen=True)
class ExportRequest:
    precision: str
    shape: ExportShape
    calibration: list[np.ndarray] = field(default_factory=list)  # preprocessed inputs, for INT8
    # What the model file says about itself, for tools that open it without the manifest
    # (ONNX metadata_props, OpenVINO rt_info under "sfc_sdk"): see `model_file_metadata`.
    metadata: dict[str, str] = field(default_factory=dict)
    # Releases of the target runtime the files must load in (TensorRT: the device's
    # JetPack's; empty: every release the converter knows).
    runtime_versions: tuple[str, ...] = ()
    # sha256 over the model directory's files (`export.model_dir_sha256`; "": unknown): lets
    # converters reuse an export of the same model made earlier (`onnx_converter.export_onnx`).
    model_dir_sha256: str = ""


METADATA_PREFIX = "sfc_sdk."


def model_file_metadata(config: ModelConfig, shape: ExportShape) -> dict[str, str]:
    """Labels, preprocessing and the SFC shape as string pairs (JSON where structured), so
    benchmark_app, Netron or a user's own ONNX Runtime code can read them from the file."""
    return {f"{METADATA_PREFIX}{k}": v for k, v in {
        "model": config.name or config.backbone, "labels": json.dumps(list(config.labels)),
        "input": json.dumps(asdict(config.input_spec)), "frames": str(shape.frames), "ratio": str(shape.ratio),
        "input_layout": "(1, 3, frames, crop, crop) float32: RGB frames sampled uniformly over the video, short "
                        "side resized to resize_size, centre crop, (x / 255 - mean) / std per channel",
    }.items()}


@dataclass(frozen=True)
class ExportResult:
    model_file: str  # relative to the output folder: what the runtime opens
    files: tuple[str, ...]  # every file written (model_file included)
    notes: tuple[str, ...] = ()
    compatibility: dict = field(default_factory=dict)  # what the files need of their runtime, for the manifest


class Converter(ABC):
    """One per format, each in its own file; `converter_for` finds it via the formats table."""

    # Slow exports run in worker processes, one graph each (`export_jobs`); the converter
    # must then hold no state between exports.
    export_in_processes: ClassVar[bool] = False

    def __init__(self, fmt: ExportFormat) -> None:
        self.format = fmt

    @abstractmethod
    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        """Write the model files into `out_dir`."""

    def require(self, module: str) -> ModuleType:
        """Import an exporter dependency, or fail naming this format's pip extra."""
        return require(module, self.format)


def converter_for(fmt: ExportFormat) -> Converter:
    module = importlib.import_module(f"{__package__}.{fmt.converter}")
    return module.CONVERTER(fmt)


def require(module: str, fmt: ExportFormat) -> ModuleType:
    """Import an optional dependency of `fmt`'s export or fail with the pip extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RuntimeUnavailableError(f"{fmt.name} export needs {module}: {extra_hint(fmt.extra)}") from None
