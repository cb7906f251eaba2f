"""Converters: export the compressed model in one format into a self-describing bundle.

    from sfc_sdk.converters import export_bundle
    from sfc_sdk.formats import get_format
    report = export_bundle("my_model/", get_format("openvino"), "int8", "out/", calib="clips/")

Most callers want `sfc_sdk.convert` (what `sfc-sdk convert` runs), which also takes
device targets and picks format, precision and ratio from the device's profile. The
formats table (`sfc_sdk.formats`) says which converter writes each format; each
converter is one file here (`onnx_converter.py`, `openvino_converter.py`,
`tflite_converter.py`, `tensorrt_converter.py`); `export.py` (`export_bundle`,
`ExportOptions`) runs the export, checks parity on real clips (`parity.py`) and writes
the manifest.
"""

from .. import model  # noqa: F401  (first: the clear error when torch is missing)
from .base import Converter, ExportRequest, ExportResult, converter_for
from .export import ExportOptions, ExportReport, check_output, export_bundle
from .exportable import ExportableClips, ExportableSFC, ExportShape, export_shape
from .parity import calibration_videos

__all__ = ["Converter", "ExportOptions", "ExportReport", "ExportRequest", "ExportResult", "ExportShape",
           "ExportableClips", "ExportableSFC", "calibration_videos", "check_output", "converter_for", "export_bundle",
           "export_shape"]
