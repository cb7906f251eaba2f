"""The Efficient-3DCNNs family (3D ShuffleNet, ShuffleNetV2, MobileNet, MobileNetV2): the
authors' exact layout and outputs, the real Jester checkpoint loaded exactly, and
`sfc-sdk import` of it predicting a real clip. The reference numbers in tests/data were
recorded once from the authors' own code (how: the file's "how")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sfc_sdk import create_backbone, load_checkpoint
from sfc_sdk.errors import CheckpointError

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "data" / "efficient3dcnns_reference.json").read_text())


@pytest.mark.parametrize("name", sorted(REFERENCE["families"]))
def test_layout_and_logits_match_the_authors_code(name, oracles_dir):
    from detweights import det_input, det_state_dict

    ref = REFERENCE["families"][name]
    net = create_backbone(name, num_classes=ref["num_classes"], **ref["variant"])
    assert [[k, list(v.shape), str(v.dtype)] for k, v in net.state_dict().items()] == ref["spec"]
    net.load_state_dict(det_state_dict(ref["spec"]))
    with torch.no_grad():
        logits = net(det_input(16, 112))[0]
    torch.testing.assert_close(logits, torch.tensor(ref["logits"]), rtol=1e-4, atol=1e-4)


def test_the_jester_checkpoint_loads_exactly_and_answers_as_the_authors_code(jester_checkpoint):
    import hashlib

    ref = REFERENCE["jester"]
    assert hashlib.sha256(jester_checkpoint.read_bytes()).hexdigest() == ref["checkpoint_sha256"]
    net = load_checkpoint("shufflenet_3d", jester_checkpoint)  # groups, width and classes from the tensors
    assert net.variant == ref["variant"] and net.classifier[1].out_features == 27
    x = (100.0 * torch.sin(0.01 * torch.arange(3 * 16 * 112 * 112, dtype=torch.float64))).reshape(1, 3, 16, 112, 112)
    with torch.no_grad():
        logits = net(x.float())[0]
    torch.testing.assert_close(logits, torch.tensor(ref["logits"]), rtol=1e-4, atol=1e-4)


def test_a_checkpoint_of_another_variant_or_network_names_its_keys(jester_checkpoint):
    with pytest.raises(CheckpointError, match=r"wrong shape: conv1.0.weight \(12, 3, 3, 3, 3\) vs \(24, 3, 3, 3, 3\)"):
        load_checkpoint("shufflenet_3d", jester_checkpoint, groups=3, width_mult=1.0)
    with pytest.raises(CheckpointError, match="missing: features.0.0.weight.*published variants"):
        load_checkpoint("mobilenet_3d", jester_checkpoint)


def test_import_cli_makes_a_model_directory_that_predicts(cli, jester_checkpoint, run_clip, tmp_path):
    labels = jester_checkpoint.with_name("jester_classInd.txt")
    out = cli("import", jester_checkpoint, "--arch", "shufflenet_3d", "--labels", labels, "-o", tmp_path / "jester")
    assert out.returncode == 0, out.stderr
    assert "groups=3, width_mult=0.5" in out.stdout and "27 classes" in out.stdout
    config = json.loads((tmp_path / "jester" / "config.json").read_text())
    assert config["variant"] == {"groups": 3, "width_mult": 0.5} and config["labels"][0] == "Doing_other_things"
    pred = cli("predict", run_clip, "--model", tmp_path / "jester", "--json")
    assert pred.returncode == 0, pred.stderr
    result = json.loads(pred.stdout)
    assert result["top"][0]["label"] in config["labels"] and len(result["kept"]) == 4
    bad = cli("import", jester_checkpoint, "--arch", "mobilenetv2_3d", "-o", tmp_path / "bad")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
