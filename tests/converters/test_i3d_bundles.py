"""DeepMind's Kinetics-400 I3D, pulled as a user pulls it, through every deploy target.

Short inputs keep this lean: 16 frames at ratio 1 is I3D over 16 frames (under a second per
clip here) with the same graph, weights and SFC selection as the 256-frame default. Each
bundle must answer as the PyTorch model on real Kinetics clips and DeepMind's own sample,
and the Jetson bundle must parse in every TensorRT from JetPack 4.6's on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfc_sdk.converters.tensorrt_compat import check_for_tensorrt, tensorrt_release, tensorrt_releases

SAMPLE_GIF = Path(__file__).resolve().parents[1] / "data" / "clips" / "v_CricketShot_g04_c01_rgb.gif"
SHORT = ("--frames", "16", "--ratio", "1")


@pytest.fixture(scope="module")
def kinetics_clips(clips_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two Kinetics-400 clips of the shared data and DeepMind's cricket sample, as a
    folder for `--calib` (which is also what parity runs on)."""
    folder = tmp_path_factory.mktemp("kinetics-clips")
    for clip in (clips_dir / "arm_wrestling_kinetics.mp4", clips_dir / "flipping_pancake_kinetics.mkv", SAMPLE_GIF):
        (folder / clip.name).symlink_to(clip)
    return folder


# TFLite is left to benchmarks/i3d_deploy.py (100% parity there): its I3D export and parity
# cost 95 s of CI, and the Weizmann model's TFLite bundle is tested in test_convert.py.
@pytest.mark.parametrize("target, runtime", [("onnx", "onnxruntime"), ("openvino", "openvino")])
def test_i3d_bundle_answers_as_the_model_on_real_kinetics_clips(cli, pulled_i3d, kinetics_clips, clips_dir,
                                                                 tmp_path, target, runtime):
    model, _, _ = pulled_i3d
    bundle = tmp_path / f"i3d-{target}"
    out = cli("convert", model, "--target", target, *SHORT, "--calib", kinetics_clips, "-o", bundle, timeout=900)
    assert out.returncode == 0, out.stderr
    # the three Kinetics-labelled clips and the bundled sample seen six ways
    assert "parity     top-1 agreement 100%, kept moments identical 100%" in out.stdout
    assert "(9 real clip inputs vs PyTorch FP32)" in out.stdout, out.stdout
    pred = cli("predict", clips_dir / "arm_wrestling_kinetics.mp4", "--model", bundle, "--json")
    assert pred.returncode == 0, pred.stderr
    record = json.loads(pred.stdout)
    assert record["top"][0]["label"] == "arm wrestling" and record["runtime"].startswith(runtime)


def test_i3d_on_a_jetson_nano_parses_in_every_tensorrt_and_a_budget_no_ratio_meets_says_so(cli, pulled_i3d,
                                                                                           tmp_path):
    model, _, _ = pulled_i3d
    # 256 frames of I3D in the Nano's 300 ms: the cost model says no ratio can, in one line
    refused = cli("convert", model, "--target", "jetson-nano", "-o", tmp_path / "refused")
    assert refused.returncode == 1 and not (tmp_path / "refused").exists()
    assert refused.stderr.startswith("error: no ratio meets 300 ms") and "--frames" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    bundle = tmp_path / "nano"
    out = cli("convert", model, "--target", "jetson-nano", *SHORT, "-o", bundle, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "parity     top-1 agreement 100%" in out.stdout
    import onnx

    graph = onnx.load(str(bundle / "model.onnx"))
    for version in tensorrt_releases():  # TensorRT 8.2 (JetPack 4.6) and every later release
        assert check_for_tensorrt(graph, tensorrt_release(version)) == [], version
