"""Converters: export the compressed model per target into a self-describing bundle.

    from sfc_sdk.converters import convert
    report = convert("my_model/", "openvino", "out/", precision="int8", calib="clips/")

`formats.py` is the table (formats, precisions, runtimes, pip extras) that the CLI, the
docs and validation read; each format's converter is one file (`onnx_converter.py`,
`openvino_converter.py`, `tflite_converter.py`, `tensorrt_converter.py`); `convert.py`
runs the export, checks parity on real clips and writes the manifest.
"""

from .base import Converter, ExportRequest, ExportResult
from .convert import ConvertReport, convert
from .formats import ExportFormat, Target, export_formats, get_format, targets

__all__ = ["ConvertReport", "Converter", "ExportFormat", "ExportRequest", "ExportResult", "Target", "convert",
           "export_formats", "get_format", "targets"]
