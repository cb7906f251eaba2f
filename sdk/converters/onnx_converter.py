"""ONNX: one self-contained file (opset 18), FP32 or FP16 weights with FP32 inputs and outputs.

The same file feeds ONNX Runtime and OpenVINO, and TensorRT builds its engine from it.
Where the backbone can run its head in chunks of time (I3D's stem), the graph does
(`ExportableSFC.with_chunked_head`): the runtimes then hold a fraction of its activations.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections import OrderedDict
from pathlib import Path

import torch

from ..errors import ExportError
from ..formats import get_format
from ..model import HEAD_CHUNK_STEPS
from . import export_cache
from .base import Converter, ExportRequest, ExportResult, require
from .exportable import INPUT_NAME, ExportableClips, ExportableSFC, ExportShape

OPSET = 18


# Exports of the same model at the same shape: converting one model to several formats or
# precisions (the ONNX and OpenVINO bundles all start from this export) exports it once,
# kept in memory within a process and on disk between processes (`export_cache`). Keyed
# by the model directory's content hash, never by the module object.
_EXPORTED: OrderedDict[tuple, bytes] = OrderedDict()
_EXPORTED_MAX_BYTES = 256 * 2**20


def export_onnx(module: ExportableSFC | ExportableClips, shape: ExportShape, path: Path, opset: int = OPSET,
                model_dir_sha256: str = "", head_chunk: int | None = HEAD_CHUNK_STEPS) -> Path:
    """`_export_onnx`, reusing an earlier export of the same model (`model_dir_sha256`: the
    sha256 of the model directory's files; "" exports afresh) at the same shape and opset.
    An SFC graph runs its head `head_chunk` steps at a time where the backbone can
    (`ExportableSFC.with_chunked_head`; None: whole)."""
    key = (model_dir_sha256, type(module).__name__, getattr(module, "ratio", None), shape, opset, head_chunk)
    if isinstance(module, ExportableSFC) and head_chunk:
        chunked = lambda: module.with_chunked_head(head_chunk)  # a copy: made only to export
    else:
        chunked = lambda: module
    if not model_dir_sha256:
        return _export_onnx(chunked(), shape, path, opset)
    data = _EXPORTED.pop(key, None) or export_cache.load(export_cache.export_key(*key))
    if data is None:
        data = _export_onnx(chunked(), shape, path, opset).read_bytes()
        export_cache.store(export_cache.export_key(*key), data)
    else:
        path.write_bytes(data)
    _EXPORTED[key] = data  # most recently used last
    while sum(map(len, _EXPORTED.values())) > _EXPORTED_MAX_BYTES and len(_EXPORTED) > 1:
        _EXPORTED.popitem(last=False)
    return path


def _export_onnx(module: ExportableSFC | ExportableClips, shape: ExportShape, path: Path, opset: int) -> Path:
    """ONNX export into a single file (weights embedded): torch.export-based at OPSET; at
    an older opset (TensorRT 8's parsers) the TorchScript exporter, which writes older
    opsets natively where the torch.export path would need a version converter that
    lacks adapters for several of our ops."""
    require("onnx", get_format("onnx"))
    require("onnxscript", get_format("onnx"))
    # The exporter narrates each step on stdout; keep the CLI's own progress readable.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        try:
            if opset >= OPSET:
                torch.onnx.export(module, (shape.example(),), str(path), input_names=[INPUT_NAME],
                                  output_names=list(module.output_names), opset_version=opset, dynamo=True,
                                  external_data=False, verbose=False)
            else:
                torch.onnx.export(module, (shape.example(),), str(path), input_names=[INPUT_NAME],
                                  output_names=list(module.output_names), opset_version=opset, dynamo=False)
        except Exception as e:  # the exporter raises many types; all mean the same to a user
            raise ExportError(f"ONNX export failed: {type(e).__name__}: {str(e).splitlines()[0]}") from e
    return path


def to_fp16(path: Path) -> Path:
    """FP16 weights and activations, FP32 at the inputs and outputs so callers need not change.
    Integer ops (TopK indices, the selection arithmetic) are left as they are."""
    onnx = require("onnx", get_format("onnx"))
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    onnx.save(model, str(path))
    return path


def add_metadata(path: Path, metadata: dict[str, str]) -> Path:
    """Write `metadata` into the file's metadata_props (what onnx.load(...).metadata_props,
    ONNX Runtime's `get_modelmeta().custom_metadata_map` and Netron show)."""
    if not metadata:
        return path
    onnx = require("onnx", get_format("onnx"))
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, **metadata})
    onnx.save(model, str(path))
    return path


class OnnxConverter(Converter):
    def export(self, module: ExportableSFC, request: ExportRequest, out_dir: Path) -> ExportResult:
        path = export_onnx(module, request.shape, out_dir / "model.onnx",
                           model_dir_sha256=request.model_dir_sha256)
        if request.precision == "fp16":
            to_fp16(path)
        add_metadata(path, request.metadata)
        return ExportResult(path.name, (path.name,))


CONVERTER = OnnxConverter
