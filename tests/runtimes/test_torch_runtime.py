"""The PyTorch runtime's inference copy (runtimes/torch_fusion.py): BatchNorm folded,
channels-last, same answers as the model as loaded, and the user's model untouched."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from sfc_sdk import ModelConfig, SFCModel
from sfc_sdk.model import build_model
from sfc_sdk.runtimes.torch_runtime import TorchRuntime
from sfc_sdk.video.decode import sample_frames
from sfc_sdk.video.preprocess import sfc_input
from sfc_sdk.video.sampling import uniform_indices


def _model(backbone: str) -> tuple[SFCModel, ModelConfig]:
    torch.manual_seed(0)
    net, config = build_model(ModelConfig(backbone=backbone, labels=tuple(f"c{i}" for i in range(10))))
    # Random BatchNorm statistics and a non-zero SFC score layer, so folding and
    # selection both have something to get wrong.
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    torch.nn.init.normal_(net.sfc.score.weight, std=1.0)
    return net.eval(), config


@pytest.mark.parametrize("backbone", ["r3d_18", "r2plus1d_18", "x3d_s"])
def test_inference_copy_folds_batchnorm_and_answers_as_the_model(backbone, run_clip):
    net, config = _model(backbone)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    spec = config.input_spec
    # 32 frames, one of the input lengths short videos run: half the time of 64, same layers
    clip = sample_frames(run_clip, lambda n: uniform_indices(n, 32), spec.resize_size)
    frames = sfc_input(clip.frames, spec)
    views = frames[:, :, : spec.clip_len]

    plain, fast = TorchRuntime(net, "cpu", optimize=False), TorchRuntime(net, "cpu")
    stages = [fast.network.backbone.get_submodule(p) for s in fast.network.backbone.stages for p in s.paths]
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for s in stages for m in s.modules())

    logits, kept = fast.run_sfc(frames, 4)
    ref_logits, ref_kept = plain.run_sfc(frames, 4)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-4, atol=1e-4)
    assert (kept == ref_kept).all()
    np.testing.assert_allclose(fast.run_views(views), plain.run_views(views), rtol=1e-4, atol=1e-4)
    # Preprocessing writes the channels-last memory the copy runs in (no copy): same bits.
    assert fast.channels_last_input and not plain.channels_last_input
    last, _ = fast.run_sfc(sfc_input(clip.frames, spec, channels_last=True), 4)
    np.testing.assert_array_equal(last, logits)
    # Its convolutions keep their weights reordered for oneDNN; a copy of it reorders its own.
    twin = TorchRuntime(net, "cpu")
    twin.network = copy.deepcopy(fast.network)
    np.testing.assert_array_equal(twin.run_sfc(frames, 4)[0], logits)

    # The user's model keeps its keys, values and layout (it can still be trained and saved).
    after = net.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[k], v) and after[k].is_contiguous() for k, v in before.items())


_PAGE_FAULTS = """
import ctypes, resource, sys
from sfc_sdk import load_model
from sfc_sdk.runtimes.torch_runtime import TorchRuntime

if sys.argv[2] == "runtime":
    TorchRuntime(load_model(sys.argv[1])[0], "cpu")
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def page_faults_of_one_use(size=64 << 20):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

page_faults_of_one_use()
print(page_faults_of_one_use())
"""


def test_cpu_runtime_keeps_freed_memory_for_the_next_call(tiny_model_dir):
    """glibc hands every large block back to the OS on free and faults it in again on
    the next use (x3d_s's SFC r4: 399 vs 216 ms end to end); a CPU TorchRuntime raises glibc's
    thresholds, so a 64 MB block used a second time costs no new page faults. Fresh
    processes: the setting is process-wide."""
    import os
    import subprocess
    import sys

    def faults(mode: str, **env: str) -> int:
        done = subprocess.run([sys.executable, "-c", _PAGE_FAULTS, str(tiny_model_dir), mode],
                              capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    assert faults("plain") > 10_000  # 64 MB / 4 KB pages, on every use
    assert faults("runtime") < 100
    assert faults("runtime", SFC_SDK_KEEP_FREED_MEMORY="0") > 10_000  # the application's opt-out


def test_short_sfc_inputs_run_every_convolution_on_onednn():
    """PyTorch sends a batch-1 Conv3d with a small kernel and a small N x C x T x H to its
    naive kernel; the bundled model's 3-channel stem got there under 61 frames (10x slower).
    The inference copy runs oneDNN at every length, with the model's answers."""
    from torch.profiler import profile

    from sfc_sdk import load_model
    from sfc_sdk.defaults import default_model_dir

    model, _ = load_model(default_model_dir())
    plain, fast = TorchRuntime(model, "cpu", optimize=False), TorchRuntime(model, "cpu")
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 112, 112)).astype(np.float32)
    with profile() as prof:
        logits, kept = fast.run_sfc(x, 2)
    ops = {e.key for e in prof.key_averages()}
    assert "mkldnn::_convolution_pointwise" in ops and "aten::slow_conv3d_forward" not in ops
    ref_logits, ref_kept = plain.run_sfc(x, 2)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-4, atol=1e-4)
    assert (kept == ref_kept).all()
