"""OpenVINO IR from the ONNX export: FP32, FP16-compressed weights, or INT8 by NNCF.

INT8 is NNCF post-training quantization with the calibration inputs of the request.
The SFC module itself (scores, TopK, attention: a few thousand MACs) stays in float:
quantizing it saves nothing and could move the kept moments. `bf16` is not a file
format: it is an FP32 IR that the runtime executes with OpenVINO's bf16 hint.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .. import logs
from ..errors import ExportError
from .base import METADATA_PREFIX, Converter, ExportRequest, ExportResult
from .exportable import ExportableSFC
from .onnx_converter import export_onnx

SFC_SCOPE = "model.sfc"


def sfc_node_names(onnx, onnx_path: Path) -> list[str]:
    """ONNX nodes that belong to the SFC module, from the exporter's name-scope metadata.
    OpenVINO keeps ONNX node names as its operations' friendly names."""
    names = []
    for node in onnx.load(str(onnx_path), load_external_data=False).graph.node:
        scopes = {p.value for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"}
        if any(f"'{SFC_SCOPE}'" in s for s in scopes):
            names.append(node.name)
    return names


class OpenVINOConverter(Converter):
    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        ov = self.require("openvino")
        notes: list[str] = []
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_onnx(module, request.shape, Path(tmp) / "model.onnx",
                                    model_dir_sha256=request.model_dir_sha256)
            model = ov.Core().read_model(str(onnx_path))
            if request.precision == "int8":
                model = self._quantize(model, request, sfc_node_names(self.require("onnx"), onnx_path))
                notes.append(f"int8: NNCF post-training quantization on {len(request.calibration)} calibration "
                             "inputs; the SFC module and grouped convolutions stay float")
            for key, value in request.metadata.items():  # rt_info: <rt_info><sfc_sdk><labels value=...>
                model.set_rt_info(value, ["sfc_sdk", key.removeprefix(METADATA_PREFIX)])
            xml = out_dir / "model.xml"
            ov.save_model(model, str(xml), compress_to_fp16=request.precision == "fp16")
        if request.precision == "bf16":
            notes.append("bf16: FP32 IR executed with INFERENCE_PRECISION_HINT=bf16")
        return ExportResult(xml.name, (xml.name, "model.bin"), tuple(notes))

    def _quantize(self, model, request: ExportRequest, keep_float: list[str]):
        nncf = self.require("nncf")
        if not request.calibration:
            raise ExportError("INT8 needs calibration inputs (--calib DIR of videos)")
        # Grouped and depthwise convolutions stay float too: OpenVINO's CPU plugin runs them
        # wrongly in INT8 on CPUs with AMX (a Xeon here: 9-23% top-1 agreement with PyTorch,
        # 100% with AMX capped or these kept float), and a bundle made elsewhere would run
        # there silently wrong. They are a small share of the work.
        ignored = nncf.IgnoredScope(patterns=[re.escape(n) + "(/.*)?" for n in keep_float],
                                    types=["GroupConvolution"], validate=False)
        with quiet_nncf():
            return nncf.quantize(model, nncf.Dataset(request.calibration), subset_size=len(request.calibration),
                                 ignored_scope=ignored)


@contextlib.contextmanager
def quiet_nncf() -> Iterator[None]:
    """NNCF off stdout, which is the CLI's results (`--json` included): its logger writes each
    calibration step at INFO to a handler on stdout (about 930 lines for one bundle) and its
    progress bars print there. Within this block the log goes to stderr at WARNING, or at
    INFO where the user asked for the libraries' output (`logs.third_party_verbose`, the
    CLI's -v), and any print goes to stderr."""
    logger = logging.getLogger("nncf")
    level = logger.level
    verbose = logs.third_party_verbose()
    # Its console handler (on stdout) to stderr; a log file the user set (nncf.set_log_file) stays.
    console = [h for h in logger.handlers if type(h) is logging.StreamHandler]
    moved = [(h, h.setStream(sys.stderr)) for h in console]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        logger.setLevel(level)
        for handler, stream in moved:
            if stream is not None:
                handler.setStream(stream)


CONVERTER = OpenVINOConverter
