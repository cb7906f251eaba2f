"""The `sfc-sdk` command, run for real in a subprocess."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest


def test_predict_prints_ranked_labels_and_kept_moments(cli, tiny_model_dir, run_clip):
    out = cli("predict", run_clip, "--model", tiny_model_dir, "--top-k", "3")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # 42 frames, under 64 x the training stride 2: 16 frames 2.6 apart at ratio 1, still 8 moments kept
    assert "daria_run.avi" in lines[0] and "sfc ratio 1" in lines[0]
    assert lines[1].lstrip().startswith("1. ") and lines[3].lstrip().startswith("3. ")
    assert any(line.strip().startswith("kept:") and line.count("s") >= 8 for line in lines)


def test_predict_json_for_several_videos_and_modes(cli, tiny_model_dir, run_clip, clips_dir):
    video2 = clips_dir / "arm_wrestling_kinetics.mp4"
    out = cli("predict", run_clip, video2, "-m", tiny_model_dir, "--json", "--mode", "dense", "--views", "10x1")
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [Path(r["source"]).name for r in results] == ["daria_run.avi", "arm_wrestling_kinetics.mp4"]
    assert all(r["mode"] == "dense" and r["views"] == "10x1" and len(r["top"]) == 5 for r in results)
    out = cli("predict", run_clip, "-m", tiny_model_dir, "--json", "--ratio", "8", "--short", "repeat")
    result = json.loads(out.stdout)
    assert result["ratio"] == 8 and len(result["kept"]) == 4 and result["padded"]
    out = cli("predict", run_clip, "-m", tiny_model_dir, "--json", "--ratio", "8")
    result = json.loads(out.stdout)  # 42 frames: 24 sampled 1.75 apart, ratio 3 keeps the same 4 moments
    assert result["ratio"] == 3 and len(result["kept"]) == 4 and not result["padded"]


def test_errors_are_one_line_and_exit_non_zero(cli, tiny_model_dir, run_clip, tmp_path, bundles):
    cases = [
        (["predict", run_clip, "-m", bundles("onnx", "fp32"), "--runtime", "torch"], "exported bundle"),
        (["predict", tmp_path / "missing.mp4", "-m", tiny_model_dir], "video not found"),
        (["predict", run_clip, "-m", tiny_model_dir, "--ratio", "3"], "ratio 3"),
        (["predict", run_clip, "-m", tmp_path / "no_model"], "model directory not found"),
        (["predict", run_clip, "--backbone", "resnet_9000"], "unknown backbone"),
        (["predict", run_clip, "--backbone", "r3d_18", "--weights", tmp_path / "w.pt"], "checkpoint not found"),
    ]
    with ThreadPoolExecutor(2) as pool:  # each case is a process of its own: two at once
        outs = list(pool.map(lambda case: cli(*case[0]), cases))
    for (args, message), out in zip(cases, outs, strict=True):
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and message in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_one_bad_video_does_not_stop_the_others(cli, tiny_model_dir, run_clip, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    out = cli("predict", bad, run_clip, "-m", tiny_model_dir, "--json")
    assert out.returncode == 1
    first, second = (json.loads(line) for line in out.stdout.splitlines())
    assert first["error_type"] == "NotAVideoError" and second["top"]


def test_backbones_and_info(cli):
    out = cli("backbones")
    assert out.returncode == 0
    for name in ("r3d_18", "r2plus1d_18", "x3d_s", "r2plus1d_tiny"):
        assert name in out.stdout
    assert "[layer2]" in out.stdout and "torchvision.models.video.r3d_18" in out.stdout
    out = cli("info")
    assert out.returncode == 0 and "sfc-sdk" in out.stdout and "torch" in out.stdout


@pytest.mark.parametrize("args", [["--version"], ["predict", "--help"]])
def test_help_and_version(cli, args):
    out = cli(*args)
    assert out.returncode == 0 and out.stdout


def test_what_tripped_new_users_is_one_line_and_a_non_zero_exit(cli, tmp_path, run_clip, jester_checkpoint):
    """Each of these printed a traceback or ran something else than asked (issue 30)."""
    import shutil

    from sfc_sdk.defaults import default_model_dir

    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "five.txt").write_text("a\nb\nc\nd\ne\n")
    (tmp_path / "a_folder").mkdir()
    model = tmp_path / "model"
    shutil.copytree(default_model_dir(), model)
    config = json.loads((model / "config.json").read_text())
    config["input"]["std"] = config["input"]["std"][:2]  # a hand edit with one value missing
    (model / "config.json").write_text(json.dumps(config))
    cases = [
        (["import", tmp_path / "notes.txt", "--arch", "shufflenet_3d", "-o", tmp_path / "m1"], "not a checkpoint"),
        (["import", jester_checkpoint, "--arch", "shufflenet_3d", "--labels", tmp_path / "five.txt", "-o",
          tmp_path / "m2"], "classifies 27 classes, but 5 labels"),
        (["predict", run_clip, "--output", tmp_path / "a_folder"], "is a folder"),
        (["predict", run_clip, "--output", "/proc/no/such/results.jsonl"], "cannot write results"),
        (["predict", run_clip, "--ratio", "0"], "ratio must be at least 1"),
        (["predict", run_clip, "--views", "1x1"], "views go with dense mode"),
        (["predict", run_clip, "--mode", "dense", "--ratio", "2"], "ratio goes with SFC mode"),
        (["predict", run_clip, "-m", model], "std must be three numbers"),
    ]
    with ThreadPoolExecutor(2) as pool:
        outs = list(pool.map(lambda case: cli(*case[0]), cases))
    for (args, message), out in zip(cases, outs, strict=True):
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and message in out.stderr, out.stderr
    assert not list((tmp_path / "a_folder").iterdir())  # nothing written into the folder

    usage = cli("predict", run_clip, "--mode", "fast")  # click's own usage errors: one line too, exit 2
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "'--mode'" in usage.stderr, usage.stderr


def test_results_on_stdout_diagnostics_on_stderr_and_quiet_means_quiet(cli, tmp_path, run_clip):
    out = cli("predict", run_clip, "--json", "--output", tmp_path / "r.jsonl")
    assert out.returncode == 0 and out.stdout == "" and "1 done" in out.stderr  # --output: results in the file
    out = cli("predict", run_clip, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["top"] and out.stderr == ""
    out = cli("-q", "predict", run_clip, "--output", tmp_path / "q.jsonl")
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""  # no progress bar, no summary
    assert cli("-v", "-q", "info").returncode == 2
