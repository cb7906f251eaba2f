"""TensorRT bundles parse in the TensorRT each Jetson's JetPack ships: their ONNX is
checked against onnx-tensorrt's operator list of every release it is fitted to
(converters/tensorrt_operators.json). TensorRT itself is not installable here; the
bundle's ONNX runs in ONNX Runtime for parity."""

from __future__ import annotations

import json

import onnx
import pytest

from sfc_sdk import Recognizer
from sfc_sdk.converters.base import ExportRequest
from sfc_sdk.converters.exportable import ExportableSFC, export_shape
from sfc_sdk.converters.tensorrt_compat import check_for_tensorrt, common_opset, tensorrt_release, tensorrt_releases
from sfc_sdk.converters.tensorrt_converter import TensorRTConverter
from sfc_sdk.defaults import default_model_dir
from sfc_sdk.devices import list_devices
from sfc_sdk.errors import ConfigError
from sfc_sdk.formats import get_format
from sfc_sdk.model import load_model


def opset_of(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def test_the_plain_onnx_export_would_not_parse_on_any_jetpack(bundles):
    """What the table is for: the ONNX bundle (opset 18, INT32 CumSum and ReduceSum in the
    SFC selection) fails JetPack 4.6's TensorRT 8.2 on opset and types, and even 10.x on
    the INT32 CumSum."""
    model = onnx.load(bundles("onnx", "fp32") / "model.onnx")
    old = check_for_tensorrt(model, tensorrt_release("8.2.1"))
    assert any(p.startswith("opset 18 (TensorRT 8.2 parses 7-13)") for p in old), old
    assert any(p.startswith("CumSum on INT32") for p in old) and any(p.startswith("ReduceSum on INT32") for p in old)
    new = check_for_tensorrt(model, tensorrt_release("10.3"))
    assert new and all(p.startswith("CumSum on INT32") for p in new), new


def test_jetson_nano_bundle_parses_in_every_tensorrt_and_answers_as_the_model(cli, tmp_path, run_clip):
    out = cli("convert", "--target", "jetson-nano", "-o", tmp_path / "nano")
    assert out.returncode == 0, out.stderr
    assert "TensorRT 8.2 (JetPack 4.6)" in out.stderr and "opset 13" in out.stdout
    manifest = json.loads((tmp_path / "nano" / "manifest.json").read_text())
    fitted = manifest["compatibility"]
    assert fitted["tensorrt"] == tensorrt_releases() and fitted["onnx_opset"] == 13
    for name in [manifest["model_file"], *(s["model_file"] for s in manifest["short_inputs"])]:
        model = onnx.load(tmp_path / "nano" / name)
        assert opset_of(model) == 13
        assert sorted({n.op_type for n in model.graph.node}) == fitted["operators"]
        for version in fitted["tensorrt"]:
            assert check_for_tensorrt(model, tensorrt_release(version)) == [], (name, version)
    # The rewritten graph computes what the model does (ONNX Runtime stands in for TensorRT here).
    assert manifest["parity"]["top1_agreement"] == 1.0 and manifest["parity"]["kept_agreement"] == 1.0
    bundle, model = Recognizer.load(tmp_path / "nano"), Recognizer()
    a, b = bundle.predict(run_clip), model.predict(run_clip)
    assert (a.label, a.kept_times) == (b.label, b.kept_times)
    # What runs is named, not the bundle's fp16: without TensorRT, the FP32 ONNX graph in ONNX Runtime.
    assert manifest["precision"] == "fp16" and manifest["parity"]["runtime"] == "onnxruntime/cpu/fp32"
    assert a.runtime == "onnxruntime/cpu/fp32"
    info = cli("info", "--model", tmp_path / "nano")
    assert info.returncode == 0, info.stderr
    assert "runtime      onnxruntime/cpu/fp32" in info.stdout
    assert "graph        model.onnx, run by onnxruntime on cpu in fp32" in info.stdout
    assert "bundle       tensorrt fp16 for target jetson-nano" in info.stdout


def test_every_jetson_profile_names_its_tensorrt_and_gets_onnx_it_parses(tmp_path):
    jetsons = [p for p in list_devices() if p.family == "jetson"]
    assert jetsons and all(p.jetpack and p.tensorrt for p in jetsons)
    net, config = load_model(default_model_dir())
    shape = export_shape(net, config)
    for since in sorted({p.tensorrt for p in jetsons} - {"8.2"}):  # 8.2: the CLI test above
        releases = [tensorrt_release(v) for v in tensorrt_releases(since=since)]
        out = tmp_path / since
        out.mkdir()
        result = TensorRTConverter(get_format("tensorrt")).export(
            ExportableSFC(net, shape.ratio), ExportRequest("fp16", shape, runtime_versions=tuple(
                r.version for r in releases)), out)
        model = onnx.load(out / result.model_file)
        assert opset_of(model) == common_opset(releases) == result.compatibility["onnx_opset"]
        assert all(check_for_tensorrt(model, r) == [] for r in releases)


def test_unknown_tensorrt_version_is_a_clear_error():
    with pytest.raises(ConfigError, match="known: 8.2, 8.5, 8.6, 10"):
        tensorrt_release("7.1")
