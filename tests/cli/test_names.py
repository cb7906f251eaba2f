"""Targets, formats and runtimes by the names people type: the formats' common aliases,
any case, and a "did you mean" for a near miss; optional extras missing give one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sfc_sdk.devices.convert import resolve_target
from sfc_sdk.formats import get_runtime

from ..inference.test_plot import NO_MATPLOTLIB


@pytest.mark.parametrize("typed,fmt", [("trt", "tensorrt"), ("engine", "tensorrt"), ("ov", "openvino"),
                                       ("IR", "openvino"), ("tfl", "tflite"), ("litert", "tflite"),
                                       ("onnxruntime", "onnx"), ("ort", "onnx"), ("ONNX", "onnx")])
def test_format_aliases_resolve_as_targets_and_formats(typed, fmt):
    assert resolve_target(typed, None, None)[0].name == fmt
    assert resolve_target("onnx", typed, "fp32" if fmt != "tensorrt" else "fp16")[0].name == fmt  # --format


def test_runtime_aliases():
    assert [get_runtime(n).name for n in ("ort", "ov", "litert", "tfl", "trt", "pytorch")] == [
        "onnxruntime", "openvino", "tflite", "tflite", "tensorrt", "torch"]


@pytest.mark.parametrize("typed,meant", [("onxx", "onnx"), ("jeston", "jetson"), ("raspbery-pi-5", "raspberry-pi-5"),
                                         ("openvno", "openvino")])
def test_a_near_miss_is_one_line_with_did_you_mean(cli, tmp_path, typed, meant):
    out = cli("convert", "--target", typed, "-o", tmp_path / "b")
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert f"did you mean {meant!r}?" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "b").exists()


def test_profile_without_matplotlib_writes_its_json_and_names_the_extra(tmp_path, weizmann_dir):
    result = tmp_path / "prof.json"
    argv = ["sfc-sdk", "profile", "--runtime", "torch", "--ratios", "4", "--runs", "1", "--data",
            str(weizmann_dir), "--limit", "1", "-o", str(result)]
    code = NO_MATPLOTLIB + f"sys.argv = {argv!r}\nfrom sfc_sdk.cli import main\nmain()\n"
    env = {"SFC_SDK_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(result.read_text())["rows"][0]["ratio"] == 4
    assert not result.with_suffix(".png").exists()
    assert 'no plot: it needs matplotlib, pip install "sfc-sdk[plot]"' in out.stdout
    assert "Traceback" not in out.stderr
