"""Backbone registry, head/tail split, and checkpoint compatibility with upstream layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sfc_sdk import create_backbone, list_backbones, load_checkpoint, load_weights, read_state_dict
from sfc_sdk.errors import CheckpointError, ConfigError, UnknownBackboneError
from sfc_sdk.model import backbone_entry


def test_registry_lists_the_promised_backbones():
    assert {"r3d_18", "r2plus1d_18", "x3d_s", "r2plus1d_tiny"} <= set(list_backbones())
    with pytest.raises(UnknownBackboneError, match="available: .*r3d_18"):
        create_backbone("resnet_9000")


@pytest.mark.parametrize("name", ["r3d_18", "r2plus1d_18", "x3d_s", "r2plus1d_tiny", "shufflenet_3d",
                                  "shufflenetv2_3d", "mobilenet_3d", "mobilenetv2_3d"])
def test_every_split_reproduces_the_full_forward(name):
    """head then tail == the whole network, at every split point, for a standard clip;
    and the tail accepts a shorter (compressed) time length, or says it cannot."""
    torch.manual_seed(0)
    spec = backbone_entry(name).input_spec
    size = 64 if name != "x3d_s" else 96  # small inputs keep the test fast; shapes are what matter
    net = create_backbone(name, num_classes=7)
    x = torch.randn(1, 3, spec.clip_len, size, size)
    with torch.no_grad():
        full = net(x)
        assert full.shape == (1, 7)
        for split in net.split_points:
            net.split = split
            feats = net.forward_head(x)
            assert feats.shape[1] == net.head_channels
            assert feats.shape[2] == -(-spec.clip_len // net.head_temporal_stride)
            torch.testing.assert_close(net.forward_tail(feats), full, rtol=1e-4, atol=1e-5)
            short = max(1, feats.shape[2] // 4)
            try:
                net.check_tail_steps(short)
            except ConfigError:
                continue  # e.g. 3D ShuffleNet's strided units need an even length at each stride
            assert net.forward_tail(feats[:, :, :short]).shape == (1, 7)


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ConfigError, match="layer2"):
        create_backbone("r3d_18", split="layer9")


def test_torchvision_r2plus1d_18_checkpoint_reproduces_torchvision_logits(oracles_dir, tmp_path):
    """torchvision's own layout and logits (shared/oracles): a checkpoint file saved
    from those weights loads with no renaming and gives the same output."""
    from detweights import det_input, det_state_dict

    oracle = json.loads((oracles_dir / "torchvision_r2plus1d_18.json").read_text())["r2plus1d_18"]
    state = det_state_dict(oracle["spec"])
    net = create_backbone("r2plus1d_18", num_classes=400)
    assert [(k, list(v.shape)) for k, v in net.state_dict().items()] == [(k, s) for k, s, _ in oracle["spec"]]
    # As training scripts save it (wrapped, DataParallel's `module.` prefix), and as safetensors.
    torch.save({"epoch": 9, "state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "r2p1d.pth")
    save_file(state, str(tmp_path / "r2p1d.safetensors"))
    for path in (tmp_path / "r2p1d.pth", tmp_path / "r2p1d.safetensors"):
        net = load_checkpoint("r2plus1d_18", path)  # 400 classes: read from the classifier
        with torch.no_grad():
            logits = net(det_input())[0]
        expected = torch.tensor(oracle["logits"])
        torch.testing.assert_close(logits, expected, rtol=1e-3, atol=1e-3 * expected.abs().max().item())


def test_r3d_18_has_torchvision_key_layout():
    keys = list(create_backbone("r3d_18").state_dict())
    assert keys[:6] == ["stem.0.weight", "stem.1.weight", "stem.1.bias", "stem.1.running_mean",
                        "stem.1.running_var", "stem.1.num_batches_tracked"]
    assert "layer2.0.downsample.0.weight" in keys and keys[-2:] == ["fc.weight", "fc.bias"]
    assert create_backbone("r3d_18").state_dict()["layer1.0.conv1.0.weight"].shape == (64, 64, 3, 3, 3)


def test_x3d_s_matches_pytorchvideo_layout_and_logits(oracles_dir):
    """Spec and logits recorded from pytorchvideo 0.1.5's hub x3d_s (tests/data)."""
    from detweights import det_input, det_state_dict

    ref = json.loads((Path(__file__).resolve().parents[1] / "data" / "x3d_s_pytorchvideo_spec.json").read_text())
    net = create_backbone("x3d_s", num_classes=400)
    assert [[k, list(v.shape), str(v.dtype)] for k, v in net.state_dict().items()] == ref["spec"]
    net.load_state_dict(det_state_dict(ref["spec"]))
    with torch.no_grad():
        logits = net(det_input(frames=13, size=160))[0]
    torch.testing.assert_close(logits, torch.tensor(ref["logits"]), rtol=1e-3, atol=1e-4)


def test_mismatched_checkpoint_names_the_first_keys(tmp_path):
    path = tmp_path / "r3d.safetensors"
    save_file({k: v.contiguous() for k, v in create_backbone("r3d_18").state_dict().items()}, str(path))
    with pytest.raises(CheckpointError) as err:
        create_backbone("r2plus1d_18", weights=path)
    msg = str(err.value)
    assert "missing: stem.3.weight" in msg and "wrong shape: stem.0.weight (64, 3, 3, 7, 7) vs (45, 3, 1, 7, 7)" in msg
    with pytest.raises(CheckpointError, match=r"wrong shape: fc.weight \(400, 512\) vs \(10, 512\)"):
        create_backbone("r3d_18", num_classes=10, weights=path)


def test_wrapped_torch_checkpoint_loads_and_pickles_are_refused(tmp_path):
    net = create_backbone("r2plus1d_tiny", num_classes=5)
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"epoch": 3, "state_dict": net.state_dict()}, wrapped)
    other = load_weights(create_backbone("r2plus1d_tiny", num_classes=5), wrapped)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), other.state_dict().values(), strict=True))

    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": net.state_dict(), "hook": _NotATensor()}, evil)
    with pytest.raises(CheckpointError, match="refused to load"):
        read_state_dict(evil)
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"not really safetensors")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        read_state_dict(fake)
    with pytest.raises(CheckpointError, match="not found"):
        read_state_dict(tmp_path / "nope.pt")


class _NotATensor:
    """Any custom class: unpickling it would import and run project code."""
