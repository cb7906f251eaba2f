"""The converter interface: the fixed-shape SFC module in, model files out.

Converters only write files. Parity checks, checksums and the manifest are the
same for every format and live in `converters.convert`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sfc_sdk.errors import RuntimeUnavailableError
from sfc_sdk.export import ExportableSFC, ExportShape

from .formats import ExportFormat


@dataclass(frozen=True)
class ExportRequest:
    precision: str
    shape: ExportShape
    calibration: list[np.ndarray] = field(default_factory=list)  # preprocessed inputs, for INT8


@dataclass(frozen=True)
class ExportResult:
    model_file: str  # relative to the output folder: what the runtime opens
    files: tuple[str, ...]  # every file written (model_file included)
    notes: tuple[str, ...] = ()


class Converter(ABC):
    """One per format, each in its own file; `converter_for` finds it via `formats.FORMATS`."""

    @abstractmethod
    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        """Write the model files into `out_dir`."""


def converter_for(fmt: ExportFormat) -> Converter:
    module = importlib.import_module(f"sfc_sdk.converters.{fmt.converter}")
    return module.CONVERTER()


def require(module: str, extra: str, what: str):
    """Import an optional dependency or fail with the pip extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RuntimeUnavailableError(f'{what} needs {module}: pip install "sfc-sdk[{extra}]"') from None
