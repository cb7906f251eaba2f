"""The converter interface: a trained SFC model in, the files of a bundle out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from sfc_sdk.model import ModelConfig, SFCModel

from .formats import ExportFormat


@dataclass(frozen=True)
class ExportRequest:
    precision: str  # one of the format's precisions
    ratio: int  # compression ratio baked into the export (shapes are static)
    frames: int  # T_in baked into the export
    calib_dir: Path | None = None  # clips for INT8 calibration


class Converter(ABC):
    """One per format; each lives in its own file and is listed in `formats.FORMATS`."""

    format: ExportFormat

    @abstractmethod
    def export(self, model: SFCModel, config: ModelConfig, request: ExportRequest, out_dir: Path) -> list[Path]:
        """Write the model files into `out_dir` and return their paths."""
