"""Converters: export the compressed model per target into a self-describing bundle.

Status: the format table and the `Converter` interface are in place; the converters
themselves (ONNX, OpenVINO, TFLite, TensorRT) are the subject of a later milestone.
"""

from .base import Converter, ExportRequest
from .formats import ExportFormat, export_formats, get_format

__all__ = ["Converter", "ExportFormat", "ExportRequest", "export_formats", "get_format"]
