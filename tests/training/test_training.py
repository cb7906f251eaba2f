"""Training on real Weizmann clips: loss goes down, the backbone stays frozen during SFC
training, resume reproduces an uninterrupted run, and the long-video builder."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sfc_sdk import Recognizer, load_model
from sfc_sdk.config import read_model_config
from sfc_sdk.defaults import default_model_dir
from sfc_sdk.fileio import sha256_file
from sfc_sdk.model import state_hash
from sfc_sdk.training import SFCTrainOptions, TrainSettings, train_backbone, train_sfc
from sfc_sdk.training.teacher import dense_teacher_probs, teacher_folder
from sfc_sdk.video.decode import sample_frames
from sfc_sdk.video.longvideo import make_long_video

CLASSES = ("bend", "jack", "wave1")
ACTORS = ("daria", "denis", "eli")


@pytest.fixture(scope="module")
def small_dataset(weizmann_dir, tmp_path_factory) -> Path:
    """3 classes x 3 actors of real Weizmann clips, as a folder-per-class dataset."""
    root = tmp_path_factory.mktemp("weizmann_small")
    for cls in CLASSES:
        (root / cls).mkdir()
        for actor in ACTORS:
            (root / cls / f"{actor}_{cls}.avi").symlink_to(weizmann_dir / cls / f"{actor}_{cls}.avi")
    return root


@pytest.fixture(scope="module")
def trained_backbone(small_dataset, tmp_path_factory) -> Path:
    # No scale jitter: it regularises long runs but slows the first steps, and this run is short.
    settings = TrainSettings(epochs=3, steps_per_epoch=15, batch_size=4, lr=6e-3, seed=0)
    return train_backbone(small_dataset, "r2plus1d_tiny", tmp_path_factory.mktemp("bb") / "model",
                          settings=settings, val=["eli_*"], scale_range=(1.0, 1.0), progress=False)


def test_training_a_tiny_backbone_lowers_the_loss(trained_backbone):
    meta = json.loads((trained_backbone / "config.json").read_text())
    losses = [h["loss"] for h in meta["training"]["history"]]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.1, losses
    assert all("val_top1" in h for h in meta["training"]["history"])
    assert meta["labels"] == list(CLASSES) and meta["training"]["train_videos"] == 6
    assert Recognizer(trained_backbone, device="cpu").labels == CLASSES


def test_sfc_training_leaves_the_backbone_unchanged(trained_backbone, small_dataset, tmp_path):
    settings = TrainSettings(epochs=2, steps_per_epoch=5, batch_size=4, lr=1e-3)
    out = train_sfc(trained_backbone, small_dataset, tmp_path / "sfc", settings=settings,
                    options=SFCTrainOptions(variants=2), val=["eli_*"], progress=False)
    meta = json.loads((out / "config.json").read_text())["training"]
    base, _ = load_model(trained_backbone)
    trained, _ = load_model(out)
    assert meta["backbone_sha256_before"] == meta["backbone_sha256_after"] == state_hash(base.backbone)
    assert state_hash(trained.backbone) == state_hash(base.backbone)
    assert state_hash(trained.sfc) != state_hash(base.sfc)  # only the SFC module learned
    assert [h["epoch"] for h in meta["history"]] == [1, 2]
    assert {"val_trimmed_top1_r4", "val_long_top1_r4"} <= set(meta["history"][-1])
    assert len(list((tmp_path / "sfc" / "long_videos").glob("*_long.avi"))) == 9  # 6 train + 3 val clips


def test_dense_teacher_outputs_are_kept_per_video_and_read_back(trained_backbone, small_dataset, tmp_path):
    """The teacher's dense prediction is computed once per video and backbone: a second run
    reads it from disk (here: a value planted in the cache comes back), a new video is computed."""
    rec = Recognizer(trained_backbone, device="cpu")
    videos = sorted(small_dataset.glob("*/*.avi"))
    key = state_hash(load_model(trained_backbone)[0].backbone)
    first = dense_teacher_probs(rec, videos[:2], key, "2x1", root=tmp_path, progress=False)
    want = rec.predict(videos[0], top_k=len(CLASSES), mode="dense", views="2x1")
    assert np.allclose(first[0][[t.index for t in want.top]], [t.score for t in want.top], atol=1e-6)
    folder = teacher_folder(key, "2x1", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{sha256_file(v)[:32]}.npy" for v in videos[:2])
    planted = np.array([0.0, 1.0, 0.0], np.float32)
    np.save(folder / f"{sha256_file(videos[0])[:32]}.npy", planted)
    again = dense_teacher_probs(rec, videos[:3], key, "2x1", root=tmp_path, progress=False)
    assert np.array_equal(again[0], planted) and np.array_equal(again[1], first[1])
    assert len(list(folder.iterdir())) == 3 and np.isclose(again[2].sum(), 1.0, atol=1e-4)


def test_sfc_training_can_see_short_clips_as_predict_feeds_them(trained_backbone, small_dataset, tmp_path):
    """short="adapt": each training clip reaches the module at the input length and ratio
    `predict` gives it (the stride rule), not stretched over the model's full input."""
    settings = TrainSettings(epochs=1, steps_per_epoch=3, batch_size=4, lr=1e-3)
    options = SFCTrainOptions(short="adapt", long_videos=False, variants=1)
    out = train_sfc(trained_backbone, small_dataset, tmp_path / "sfc", settings=settings, options=options,
                    exclude=["eli_*"], progress=False)
    meta = json.loads((out / "config.json").read_text())["training"]
    rec = Recognizer(trained_backbone, device="cpu")
    clips = [p for p in sorted(small_dataset.glob("*/*.avi")) if not p.name.startswith("eli_")]
    fed = {rec.predict(c, ratio=r).sampled_frames for c in clips for r in meta["options"]["ratios"]}
    assert set(meta["input_lengths"]) == fed and min(fed) < rec.default_frames
    assert meta["backbone_sha256_before"] == meta["backbone_sha256_after"]
    assert state_hash(load_model(out)[0].sfc) != state_hash(load_model(trained_backbone)[0].sfc)


def test_sfc_at_another_split_point_keeps_the_backbone(cli, trained_backbone, small_dataset, tmp_path):
    out = cli("train", "sfc", "--backbone", trained_backbone, "--data", small_dataset, "--split", "layer3",
                  "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--no-long-videos",
                  "-o", tmp_path / "sfc3")
    assert out.returncode == 0, out.stderr
    base, _ = load_model(trained_backbone)
    moved, config = load_model(tmp_path / "sfc3")
    assert config.split == "layer3" and moved.backbone.split == "layer3" != base.backbone.split
    assert state_hash(moved.backbone) == state_hash(base.backbone)
    assert moved.sfc.channels == 2 * base.sfc.channels  # sized for layer3's features
    bad = cli("train", "sfc", "--backbone", trained_backbone, "--data", small_dataset, "--split", "layer9",
                  "-o", tmp_path / "bad")
    assert bad.returncode == 1 and "layer9" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_label_free_sfc_training_distils_the_dense_teacher_and_keeps_the_backbone(cli, trained_backbone,
                                                                                   small_dataset, tmp_path):
    """`train sfc --teacher dense VIDEOS`: no labels, only the backbone's own dense prediction;
    the backbone is unchanged and validation is agreement with the teacher."""
    videos = tmp_path / "unlabelled"  # one flat folder: nothing says which action a clip is
    videos.mkdir()
    for clip in small_dataset.glob("*/*.avi"):
        (videos / clip.name).symlink_to(clip)
    out = cli("train", "sfc", "--model", trained_backbone, "--teacher", "dense", "--teacher-views", "2x1", videos,
              "--val", "eli_*", "--no-long-videos", "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "2",
              "-o", tmp_path / "sfc")
    assert out.returncode == 0, out.stderr
    meta = json.loads((tmp_path / "sfc" / "config.json").read_text())["training"]
    assert meta["labels"] == "none: dense 2x1 teacher" and meta["train_videos"] == 6 and meta["val_videos"] == 3
    assert 0.0 <= meta["history"][-1]["val_trimmed_teacher_agreement_r4"] <= 1.0
    assert {"train_distill_r4", "val_trimmed_teacher_agreement_r4"} <= set(meta["initial"])
    base, _ = load_model(trained_backbone)
    trained, _ = load_model(tmp_path / "sfc")
    assert meta["backbone_sha256_before"] == meta["backbone_sha256_after"] == state_hash(base.backbone)
    assert state_hash(trained.backbone) == state_hash(base.backbone) and state_hash(trained.sfc) != state_hash(base.sfc)
    both = cli("train", "sfc", "--model", trained_backbone, "--data", small_dataset, "--teacher", "dense", videos,
               "-o", tmp_path / "bad")
    views = cli("train", "sfc", "--model", trained_backbone, "--teacher", "dense", "--teacher-views", "10by3", videos,
                "-o", tmp_path / "bad")
    for bad in (both, views):
        assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_label_free_training_brings_a_fresh_module_closer_to_the_teacher(small_dataset, tmp_path):
    """The bundled model's backbone with a fresh (untrained: uniform sampling) SFC module,
    trained without labels: the KL from the dense teacher on the training clips goes down
    (measured: 0.0028 -> 0.0013 and 0.0016 for seeds 0 and 1)."""
    model_dir = default_model_dir()
    out = train_sfc(model_dir, None, tmp_path / "sfc", videos=[small_dataset], val=["eli_*"], progress=False,
                    module=read_model_config(model_dir).sfc,  # the same shape, untrained
                    settings=TrainSettings(epochs=3, steps_per_epoch=12, batch_size=4, lr=1e-2, seed=0),
                    options=SFCTrainOptions(long_videos=False, teacher_views="2x1", ratios=(4,), variants=1))
    meta = json.loads((out / "config.json").read_text())["training"]
    kl = [meta["initial"]["train_distill_r4"]] + [h["train_distill_r4"] for h in meta["history"]]
    assert kl[0] > 0 and kl[-1] < 0.8 * kl[0], kl


def test_killed_training_resumes_to_the_same_model(cli, small_dataset, tmp_path):
    """Kill `sfc-sdk train backbone` after its first checkpoint, resume it, and get the
    very model an uninterrupted run gives."""
    args = ["train", "backbone", "--data", small_dataset, "--epochs", "2", "--steps-per-epoch", "12",
            "--batch-size", "2", "--seed", "3"]
    full = cli(*args, "-o", tmp_path / "full")
    assert full.returncode == 0, full.stderr

    exe = Path(sys.executable).with_name("sfc-sdk")
    proc = subprocess.Popen([str(exe), *map(str, args), "-o", str(tmp_path / "cut")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "cut" / "train_state.pt"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    history = (tmp_path / "cut" / "history.jsonl").read_text().splitlines()
    assert len(history) == 1, "the run was not cut between its two epochs"
    assert not (tmp_path / "cut" / "model.safetensors").exists()

    again = cli(*args, "-o", tmp_path / "cut")
    assert again.returncode == 1 and "--resume" in again.stderr  # never overwrites a run silently
    resumed = cli(*args, "-o", tmp_path / "cut", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    resumed_bytes = (tmp_path / "cut" / "model.safetensors").read_bytes()
    assert resumed_bytes == (tmp_path / "full" / "model.safetensors").read_bytes()


def test_long_video_builder_is_deterministic_and_decodes(run_clip, tmp_path):
    first = make_long_video(run_clip, tmp_path / "a", seed=5)
    second = make_long_video(run_clip, tmp_path / "b", seed=5)
    other = make_long_video(run_clip, tmp_path / "c", seed=6)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.num_frames, first.action_start) != (other.num_frames, other.action_start)
    assert 3 * 42 <= first.num_frames <= 4 * 42 and first.action_end - first.action_start == 42

    decoded = sample_frames(first.path, lambda n: range(n), None)
    clip = sample_frames(run_clip, lambda n: range(n), None).frames.astype(np.float32)
    assert decoded.num_frames == first.num_frames and decoded.fps == pytest.approx(25.0)
    long = decoded.frames.astype(np.float32)
    inside = np.abs(long[first.action_start:first.action_end] - clip).mean()
    assert inside < 4.0  # the clip itself, through MJPG
    background = np.median(clip, axis=0)
    outside = [i for i in range(first.num_frames) if not first.action_start <= i < first.action_end]
    assert np.abs(long[outside] - background).mean() < 4.0  # empty scene plus mild noise
    assert np.abs(long[outside[0]] - long[outside[-1]]).mean() > 0.5  # the noise differs per frame


def test_demo_runs_and_names_a_weizmann_class(cli):
    out = cli("demo")
    assert out.returncode == 0, out.stderr
    weizmann = {"bend", "jack", "jump", "pjump", "run", "side", "skip", "walk", "wave1", "wave2"}
    first = out.stdout.splitlines()[3].split()
    assert first[0] == "1." and first[1] in weizmann and first[3] in weizmann
    assert "latency" in out.stdout and "peak memory" in out.stdout and "moments SFC kept" in out.stdout


@pytest.mark.slow
def test_accuracy_benchmark_tiny_configuration(weizmann_dir, tmp_path):
    """The CI-sized run of benchmarks/accuracy.py: same code path as the full benchmark."""
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "benchmarks.accuracy", "--tiny", "--quiet", "--data", str(weizmann_dir),
                          "--work", str(tmp_path), "--variants", ",bounded", "--nested"],
                         capture_output=True, text=True, timeout=900, cwd=repo)
    assert out.returncode == 0, out.stderr[-3000:]
    table = (tmp_path / "tiny" / "accuracy.md").read_text()
    methods = ("dense 1x1", "dense 10x1", "dense 10x3", "SFC r2", "SFC r4", "SFC r8", "SFC r2 [bounded]",
               "SFC r4 [bounded]", "SFC r8 [bounded]", "SFC r2 nested", "SFC r4 nested", "SFC r8 nested")
    for method in methods:
        assert f"| {method} |" in table
    rows = [json.loads(x) for x in (tmp_path / "tiny" / "accuracy.jsonl").read_text().splitlines()]
    assert len(rows) == 3 * 2 * len(methods)  # 3 test clips x 2 conditions x each method
    # The nested choice was made on the validation actor (denis), never on the test actor (daria).
    assert "| daria | denis |" in table
    inner = tmp_path / "tiny" / "fold_daria" / "inner_denis"
    assert json.loads((inner / "backbone" / "config.json").read_text())["training"]["exclude"] == ["daria_*",
                                                                                                   "denis_*"]


def test_fine_tuning_from_the_jester_checkpoint_keeps_frozen_stages(cli, jester_checkpoint, small_dataset, tmp_path):
    """`train backbone --init CKPT --freeze STAGE`: a new 3-class classifier on the pretrained
    3D ShuffleNet, its preprocessing kept, the loss falling, the frozen stages unchanged."""
    from sfc_sdk import load_checkpoint

    out = cli("train", "backbone", "--data", small_dataset, "--init", jester_checkpoint, "--arch", "shufflenet_3d",
              "--freeze", "layer1", "--epochs", "3", "--steps-per-epoch", "6", "--batch-size", "4",
              "-o", tmp_path / "ft")
    assert out.returncode == 0, out.stderr[-2000:]
    meta = json.loads((tmp_path / "ft" / "config.json").read_text())
    losses = [h["loss"] for h in meta["training"]["history"]]
    assert losses[-1] < losses[0], losses
    assert meta["variant"] == {"groups": 3, "width_mult": 0.5} and meta["labels"] == list(CLASSES)
    assert meta["input"]["crop_size"] == 112 and meta["input"]["std"][0] == pytest.approx(1 / 255)
    tuned, _ = load_model(tmp_path / "ft")
    start = load_checkpoint("shufflenet_3d", jester_checkpoint)
    for stage in start.stages_through("layer1"):  # stem and layer1: weights and BatchNorm statistics
        for path in stage.paths:
            assert state_hash(tuned.backbone.get_submodule(path)) == state_hash(start.get_submodule(path))
    assert state_hash(tuned.backbone.layer2) != state_hash(start.layer2)  # the rest was trained
    assert tuned.backbone.classifier[1].out_features == 3

    # `train sfc` with no --ratios takes the ratios this network runs (its tail needs 4 steps or more).
    out = cli("train", "sfc", "--backbone", tmp_path / "ft", "--data", small_dataset, "--no-long-videos",
              "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "-o", tmp_path / "sfc")
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "sfc" / "config.json").read_text())["training"]["options"]["ratios"] == [2, 4]


def test_a_novelty_module_trains_its_attention_and_keeps_its_selection(small_dataset, run_clip, tmp_path):
    """`--selector novelty`: the kept steps come from the head features (no score to teach,
    so no score loss); distillation trains only the attention blend."""
    from dataclasses import replace

    import torch

    from sfc_sdk.model import SFCModel, load_model
    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.preprocess import sfc_input
    from sfc_sdk.video.sampling import uniform_indices

    model_dir = default_model_dir()
    module = replace(read_model_config(model_dir).sfc, selector="novelty")
    out = train_sfc(model_dir, None, tmp_path / "sfc", videos=[small_dataset], progress=False, module=module,
                    settings=TrainSettings(epochs=1, steps_per_epoch=6, batch_size=4, lr=1e-2, seed=0),
                    options=SFCTrainOptions(long_videos=False, teacher_views="2x1", ratios=(4,), variants=1))
    meta = json.loads((out / "config.json").read_text())
    assert meta["sfc"]["selector"] == "novelty"
    assert all("distill_loss" in h and "score_loss" not in h for h in meta["training"]["history"])
    trained, config = load_model(out)
    fresh = SFCModel.around(trained.backbone, config.sfc)
    frames = sample_frames(run_clip, lambda n: uniform_indices(n, config.sfc.frames), config.input_spec.resize_size)
    with torch.no_grad():
        feats = trained.backbone.forward_head(torch.from_numpy(sfc_input(frames.frames, config.input_spec)))
        (_, kept, score), (_, kept0, score0) = trained.sfc.compress(feats, 4), fresh.sfc.compress(feats, 4)
    assert torch.equal(kept, kept0) and torch.equal(score, score0)
    assert trained.sfc.gate.abs().max() > 0  # the attention blend moved off pure selection
