"""Device profiles, detection on recorded device files, ratio choice, and a real
measurement (`sfc-sdk profile`) of the bundled model on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sfc_sdk.devices import (
    DeviceProfileError,
    NoFitError,
    RatioOption,
    choose_ratio,
    cost_model_options,
    detect_device,
    list_devices,
    read_host,
    resolve_device,
)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "devices"
ISSUE_DEVICES = {"jetson-nano", "jetson-orin-nano", "jetson-agx-orin", "raspberry-pi-4", "raspberry-pi-5",
                 "intel-cpu", "generic-cpu", "cuda-gpu"}


def test_every_shipped_profile_validates_and_says_where_its_figures_come_from():
    profiles = {p.name: p for p in list_devices()}
    assert ISSUE_DEVICES <= set(profiles)
    for p in profiles.values():
        assert p.throughput_source and p.throughput_gmacs > 0 and p.latency_budget_ms > 0
    families = {}
    for p in profiles.values():
        families.setdefault(p.family, []).append(p)
    assert all(sum(m.family_default for m in members) == 1 for members in families.values())


@pytest.mark.parametrize("sample,expected", [
    ("jetson-orin-nano", "jetson-orin-nano"), ("jetson-nano", "jetson-nano"), ("jetson-agx-orin", "jetson-agx-orin"),
    ("jetson-xavier-nx", "jetson-orin-nano"),  # a Jetson without a profile: its family's default
    ("raspberry-pi-4", "raspberry-pi-4"), ("raspberry-pi-5", "raspberry-pi-5"),
    ("intel-laptop", "intel-cpu"), ("amd-desktop", "generic-cpu"), ("arm-server", "generic-cpu"),
    ("unknown-cpu", "generic-cpu"),
])
def test_detection_on_recorded_device_files(sample, expected):
    facts = read_host(SAMPLES / sample, cuda=False)
    assert detect_device(list_devices(), facts).profile.name == expected


OV_AMD = ("BF16", "WINOGRAD", "FP32", "INT8", "BIN", "EXPORT_IMPORT")  # OpenVINO 2025 on this AMD EPYC
ORT_CPU, ORT_CUDA = ("CPUExecutionProvider",), ("CUDAExecutionProvider", "CPUExecutionProvider")


@pytest.mark.parametrize("sample,installed,caps,providers,calib,expected", [
    ("amd-desktop", ("onnxruntime", "openvino"), OV_AMD, ORT_CPU, False, ("generic-cpu", "openvino", "bf16")),
    ("amd-desktop", ("onnxruntime", "openvino"), OV_AMD, ORT_CPU, True, ("generic-cpu", "openvino", "int8")),
    ("intel-laptop", ("openvino",), ("FP32", "INT8"), (), False, ("intel-cpu", "openvino", "fp32")),
    ("amd-desktop", ("onnxruntime",), (), ORT_CPU, False, ("generic-cpu", "onnx", "fp32")),  # no OpenVINO
    ("jetson-orin-nano", ("tensorrt", "onnxruntime"), (), ORT_CUDA, False, ("jetson-orin-nano", "tensorrt", "fp16")),
    ("jetson-nano", ("onnxruntime",), (), ORT_CUDA, False, ("jetson-nano", "onnx", "fp16")),  # ONNX Runtime CUDA
    ("cuda-desktop", ("onnxruntime", "openvino"), OV_AMD, ORT_CPU, False, ("cuda-gpu", "tensorrt", "fp16")),
    ("raspberry-pi-5", ("tflite", "onnxruntime"), (), ORT_CPU, False, ("raspberry-pi-5", "tflite", "fp32")),
    ("arm-server", ("onnxruntime",), (), ORT_CPU, False, ("generic-cpu", "onnx", "fp32")),  # no LiteRT
])
def test_auto_picks_the_fastest_installed_runtime_and_says_why(sample, installed, caps, providers, calib, expected):
    from sfc_sdk.devices.runtime_choice import RuntimeProbe

    facts = read_host(SAMPLES / sample, cuda=True if sample.startswith(("jetson", "cuda")) else False)
    probe = RuntimeProbe(installed, caps, providers)
    device = resolve_device("auto", facts=facts, probe=probe, calib=calib)
    assert (device.profile.name, device.profile.target, device.profile.precision) == expected
    assert "runtime: " in device.how and expected[1] in device.how.split("runtime: ")[1]


def test_auto_prefers_what_was_measured_here_over_what_it_assumes():
    from sfc_sdk.devices.runtime_choice import RuntimeProbe, choose_measured

    def row(fmt, precision, ms, top1, ratio=4):
        return {"format": fmt, "precision": precision, "latency_ms": ms, "top1": top1, "ratio": ratio, "date": "d"}

    rows = [row("openvino", "bf16", 7.0, 0.90), row("onnx", "fp32", 12.0, 0.90), row("openvino", "int8", 5.0, 0.90),
            row("openvino", "fp16", 4.0, 0.80),  # fastest, but 10 points less accurate
            row("tflite", "fp32", 3.0, 0.90),  # fastest and as accurate, but LiteRT is not installed here
            row("onnx", "fp32", 2.0, 0.90, ratio=8)]  # another ratio
    probe = RuntimeProbe(("onnxruntime", "openvino"), OV_AMD, ORT_CPU)
    choice = choose_measured(rows, 4, probe)
    assert (choice.format, choice.precision) == ("openvino", "bf16")  # INT8 needs calibration clips
    assert "measured on this machine" in choice.reason and "onnx fp32 12.0 ms" in choice.reason
    assert (choose_measured(rows, 4, probe, calib=True).precision) == "int8"
    assert choose_measured(rows, 2, probe) is None  # nothing measured at ratio 2: the assumption stands



def test_measurements_are_found_in_the_measurement_cache_and_the_legacy_one(tmp_path, monkeypatch):
    """Measurements written before the rename (the cache's `profiles/` folder, key `model_id`)
    are still read; new ones go to `measurements/`, which wins where both have one."""
    from sfc_sdk.devices.measure import measured_here, measured_options, measurement_cache_path

    monkeypatch.setenv("SFC_SDK_CACHE", str(tmp_path))
    host = read_host().describe()

    def write(folder, device, ms):
        path = tmp_path / folder / device / "abc.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"schema": "sfc-sdk-profile", "device": device, "host": host, "model_id": "abc",
                                    "rows": [{"ratio": 4, "format": "onnx", "precision": "fp32", "latency_ms": ms}]}))

    write("profiles", "generic-cpu", 20.0)
    assert [o.latency_ms for o in measured_options("generic-cpu", "abc", "onnx", "fp32")] == [20.0]
    assert [r["latency_ms"] for r in measured_here("abc")] == [20.0]
    write("measurements", "generic-cpu", 10.0)
    assert measurement_cache_path("generic-cpu", "abc") == tmp_path / "measurements" / "generic-cpu" / "abc.json"
    assert [o.latency_ms for o in measured_options("generic-cpu", "abc", "onnx", "fp32")] == [10.0]
    assert [r["latency_ms"] for r in measured_here("abc")] == [10.0]


def test_a_new_measurement_keeps_the_rows_of_one_in_the_legacy_cache(tmp_path, monkeypatch):
    """The first `sfc-sdk profile` after the rename measures fp32: the fp16 rows measured
    before it (in the legacy `profiles/` folder) stay usable, merged into the new file."""
    from sfc_sdk.devices.measure import _write, measured_options, measurement_cache_path

    monkeypatch.setenv("SFC_SDK_CACHE", str(tmp_path))
    host = read_host().describe()
    legacy = tmp_path / "profiles" / "generic-cpu" / "abc.json"
    legacy.parent.mkdir(parents=True)
    row = {"ratio": 4, "format": "onnx", "latency_ms": 30.0}
    legacy.write_text(json.dumps({"device": "generic-cpu", "host": host, "frames": 64, "model_id": "abc",
                                  "rows": [{**row, "precision": "fp16"}]}))
    result = {"device": "generic-cpu", "host": host, "frames": 64, "model": "m", "budget_ms": 100.0,
              "rows": [{**row, "precision": "fp32", "latency_ms": 20.0}]}
    _write(result, tmp_path / "out.json", measurement_cache_path("generic-cpu", "abc"))
    assert [o.latency_ms for o in measured_options("generic-cpu", "abc", "onnx", "fp32")] == [20.0]
    assert [o.latency_ms for o in measured_options("generic-cpu", "abc", "onnx", "fp16")] == [30.0]


def test_cuda_gpu_is_detected_on_a_pc_but_not_on_a_jetson():
    pc = read_host(SAMPLES / "cuda-desktop")  # the NVIDIA driver's own files: no torch asked
    assert pc.cuda == "NVIDIA GeForce RTX 3080"
    assert detect_device(list_devices(), pc).profile.name == "cuda-gpu"
    assert read_host(SAMPLES / "amd-desktop").cuda == ""
    jetson = read_host(SAMPLES / "jetson-orin-nano", cuda=True)
    assert detect_device(list_devices(), jetson).profile.name == "jetson-orin-nano"


def test_family_names_pick_the_detected_member_or_the_stated_default():
    on_nano = read_host(SAMPLES / "jetson-nano", cuda=False)
    picked = resolve_device("jetson", facts=on_nano)
    assert picked.profile.name == "jetson-nano" and "detected" in picked.how
    elsewhere = read_host(SAMPLES / "intel-laptop", cuda=False)
    picked = resolve_device("jetson", facts=elsewhere)
    assert picked.profile.name == "jetson-orin-nano" and "default member" in picked.how
    assert resolve_device("raspberry-pi", facts=elsewhere).profile.name == "raspberry-pi-5"
    assert resolve_device("intel", facts=elsewhere).profile.name == "intel-cpu"
    with pytest.raises(DeviceProfileError, match="families: "):
        resolve_device("jetsn", facts=elsewhere)


def _write_profile(folder: Path, name: str = "my-board", **changes) -> Path:
    data = json.loads((REPO / "sdk" / "devices" / "profiles" / "raspberry-pi-5.json").read_text())
    data.update(name=name, family="my-family", family_default=True, **changes)
    data = {k: v for k, v in data.items() if v is not None}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_user_profile_folder_adds_a_device(cli, tmp_path):
    _write_profile(tmp_path, throughput_gmacs=50)
    out = cli("devices", "--profiles", tmp_path)
    assert out.returncode == 0 and "my-board" in out.stdout and "raspberry-pi-5" in out.stdout
    assert resolve_device("my-family", [tmp_path]).profile.throughput_gmacs == 50


@pytest.mark.parametrize("changes,message", [
    ({"latency_budget_ms": None}, "missing 'latency_budget_ms'"),
    ({"threads": "four"}, "'threads' must be int"),
    ({"target": "coreml"}, "unknown target format 'coreml'"),
    ({"precision": "int8"}, "tflite offers fp32, fp16, not 'int8'"),
    ({"throughput_gmacs": -1}, "'throughput_gmacs' must be positive"),
    ({"colour": "red"}, "unknown keys"),
    ({"schema_version": 7}, "expected schema"),
])
def test_bad_user_profiles_are_refused_clearly(cli, tmp_path, changes, message):
    _write_profile(tmp_path, **changes)
    with pytest.raises(DeviceProfileError, match=message):
        list_devices([tmp_path])
    out = cli("devices", "--profiles", tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "my-board.json" in out.stderr


def test_profile_that_is_not_json(tmp_path):
    (tmp_path / "broken.json").write_text("{name: ")
    with pytest.raises(DeviceProfileError, match="not valid JSON"):
        list_devices([tmp_path])


MEASURED = [RatioOption(1, 140, "measured", 0.80, 900), RatioOption(2, 95, "measured", 0.84, 700),
            RatioOption(4, 60, "measured", 0.86, 500), RatioOption(8, 45, "measured", 0.70, 450)]


def test_ratio_choice_on_measured_tables():
    assert choose_ratio(MEASURED, 100).option.ratio == 4  # most accurate within budget
    assert choose_ratio(MEASURED, 50).option.ratio == 8
    assert choose_ratio(MEASURED, 200, memory_budget_mb=480).option.ratio == 8  # memory rules out the rest
    choice = choose_ratio(MEASURED, 100)
    assert choice.reason.startswith("ratio 4: 60 ms measured, top-1 86.0%, budget 100 ms")
    with pytest.raises(NoFitError, match="closest is ratio 8: 45 ms measured.*at least 45"):
        choose_ratio(MEASURED, 30)


def test_ratio_choice_without_accuracy_keeps_the_models_own_ratio_when_it_fits():
    timed = [RatioOption(o.ratio, o.latency_ms, "cost model") for o in MEASURED]
    assert choose_ratio(timed, 100, preferred=4).option.ratio == 4
    assert choose_ratio(timed, 50, preferred=4).option.ratio == 8  # more compression only when needed
    assert choose_ratio(timed, 200, preferred=None).option.ratio == 1


def test_cost_model_is_gmacs_over_device_throughput():
    from sfc_sdk.defaults import default_model_dir
    from sfc_sdk.model import load_model
    from sfc_sdk.model.flops import sfc_gmacs

    net, config = load_model(default_model_dir())
    pi4 = resolve_device("raspberry-pi-4").profile
    options = cost_model_options(net, config, pi4, ratios=(1, 2, 4, 8, 3))
    # 3 does not divide the head's 16 steps; 8 leaves 2, and 3D ShuffleNet's tail needs a multiple of 4
    assert [o.ratio for o in options] == [1, 2, 4]
    gmacs = sfc_gmacs(net, 64, 4, config.input_spec.crop_size).total
    assert options[2].latency_ms == pytest.approx(1000 * gmacs / pi4.throughput_gmacs)
    assert [o.latency_ms for o in options] == sorted((o.latency_ms for o in options), reverse=True)


def test_convert_for_a_device_records_the_choice_or_names_the_closest(cli, tmp_path):
    env = {**os.environ, "SFC_SDK_CACHE": str(tmp_path / "cache")}
    out = cli("convert", "--target", "raspberry-pi-4", "--latency-ms", "20", "-o", tmp_path / "b", env=env)
    assert out.returncode == 1 and "no ratio meets 20 ms: the closest is ratio 4" in out.stderr
    # --format onnx: the device still picks the ratio; a LiteRT export (86 s here) is tested in
    # test_convert, and LiteRT FP16 is measured by benchmarks/runtimes.py
    out = cli("convert", "--target", "raspberry-pi", "--latency-ms", "400", "--format", "onnx",
              "-o", tmp_path / "b", env=env)
    assert out.returncode == 0, out.stderr
    assert "default member raspberry-pi-5" in out.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["format"] == "onnx" and manifest["precision"] == "fp32" and manifest["ratio"] == 4
    parity = manifest["parity"]
    assert parity["top1_agreement"] == 1.0 and len(parity["short_inputs"]) == 3
    assert all(p["top1_agreement"] == 1.0 for p in parity["short_inputs"])
    sel = manifest["selection"]
    assert sel["device"] == "raspberry-pi-5" and sel["budget_ms"] == 400 and sel["reason"].startswith("ratio 4: ")
    assert "cost model" in sel["reason"] and "throughput_source" in sel


@pytest.mark.slow
def test_profile_on_this_machine_then_convert_uses_the_measurement(cli, tmp_path, weizmann_dir):
    import matplotlib.image

    env = {**os.environ, "SFC_SDK_CACHE": str(tmp_path / "cache")}  # the session's export cache is shared
    out = cli("profile", "--ratios", "2,4", "--runs", "3", "--data", weizmann_dir, "--limit", "6",
                  "-o", tmp_path / "prof.json", env=env)
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "prof.json").read_text())
    assert result["device"] == resolve_device("auto").profile.name
    assert [r["ratio"] for r in result["rows"]] == [2, 4]
    for r in result["rows"]:
        assert r["latency_ms"] > 0 and r["p90_ms"] >= r["latency_ms"] and r["peak_mb"] > 50
        assert r["videos"] == 6 and 0 <= r["top1"] <= 1
    image = matplotlib.image.imread(tmp_path / "prof.png")
    assert image.shape[0] > 100 and image.shape[1] > 100

    # Each configuration's ONNX graphs were kept (OpenVINO's bundles start from them); mark
    # them all as long unused, so reuse by a later process shows.
    exports = Path(os.environ["SFC_SDK_EXPORT_CACHE"])
    kept = sorted(exports.glob("*.onnx"))
    assert kept
    for path in kept:
        os.utime(path, (0, 0))

    # OpenVINO is installed here (an x86 CPU with BF16): auto profiled OpenVINO. Measure
    # ONNX Runtime too, as generic-cpu: the stored measurement keeps both.
    assert result["rows"][0]["format"] == "openvino"
    out = cli("profile", "--device", "generic-cpu", "--ratios", "4", "--runs", "3", "--data", weizmann_dir,
              "--limit", "6", "-o", tmp_path / "prof-ort.json", env=env)
    assert out.returncode == 0, out.stderr
    assert sorted(exports.glob("*.onnx")) == kept  # ratio 4's graphs reused, none exported again
    reused = {p for p in kept if p.stat().st_mtime > 0}
    assert 0 < len(reused) < len(kept)  # ratio 4's, not ratio 2's
    stored = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "measurements").glob("*/*.json")]
    rows = [r for s in stored for r in s["rows"] if r["ratio"] == 4]
    assert {r["format"] for r in rows} == {"openvino", "onnx"}

    out = cli("convert", "--target", "auto", "-o", tmp_path / "b", env=env)
    assert out.returncode == 0, out.stderr
    assert sorted(exports.glob("*.onnx")) == kept  # the chosen configuration was not exported again
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    sel = manifest["selection"]
    # auto exports what measured fastest here at the model's ratio (both are equally accurate
    # on these 6 clips or the less accurate one is out), and says so
    best = min(rows, key=lambda r: (r["top1"] < max(x["top1"] for x in rows) - 0.02, r["latency_ms"]))
    assert (manifest["format"], manifest["precision"]) == (best["format"], best["precision"])
    assert "measured on this machine by sfc-sdk profile" in sel["how"]
    assert "measured" in sel["reason"]


def test_profile_of_a_bundle_measures_it_as_exported(cli, bundles, tmp_path):
    env = {**os.environ, "SFC_SDK_CACHE": str(tmp_path / "cache")}
    out = cli("profile", bundles("onnx", "fp32"), "--device", "generic-cpu", "--runs", "3",
                  "-o", tmp_path / "b.json", env=env)
    assert out.returncode == 0, out.stderr
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["ratio"] == 4 and rows[0]["format"] == "onnx" and rows[0]["latency_ms"] > 0
    assert "not stored for convert" in out.stdout and not (tmp_path / "cache").exists()
