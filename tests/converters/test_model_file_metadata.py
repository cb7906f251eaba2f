"""A bundle's model file describes itself to the runtimes' own tools: labels and
preprocessing in ONNX metadata_props and OpenVINO rt_info, and the IR runs in OpenVINO's
benchmark_app as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sfc_sdk.config import read_model_config
from sfc_sdk.defaults import default_model_dir


def test_onnx_and_openvino_files_carry_labels_and_preprocessing(bundles):
    import onnxruntime as ort
    import openvino as ov

    config = read_model_config(default_model_dir())
    meta = ort.InferenceSession(str(bundles("onnx", "fp32") / "model.onnx")).get_modelmeta().custom_metadata_map
    assert json.loads(meta["sfc_sdk.labels"]) == list(config.labels)
    assert json.loads(meta["sfc_sdk.input"])["crop_size"] == config.input_spec.crop_size
    assert meta["sfc_sdk.frames"] == "64" and meta["sfc_sdk.ratio"] == "4"

    model = ov.Core().read_model(str(bundles("openvino", "fp32") / "model.xml"))
    assert json.loads(model.get_rt_info(["sfc_sdk", "labels"]).astype(str)) == list(config.labels)
    assert json.loads(model.get_rt_info(["sfc_sdk", "input"]).astype(str))["mean"] == list(config.input_spec.mean)


def test_openvino_benchmark_app_runs_the_bundle_ir(bundles):
    app = Path(sys.executable).with_name("benchmark_app")
    out = subprocess.run([str(app), "-m", str(bundles("openvino", "fp32") / "model.xml"), "-d", "CPU", "-t", "2",
                          "-hint", "latency"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Throughput" in out.stdout and "Latency" in out.stdout
