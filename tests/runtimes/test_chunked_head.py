"""The memory savers: I3D's stem head in chunks of time (model/backbones/i3d_chunked_stem.py),
in the PyTorch runtime and in ONNX exports, and uint8 frames normalised by the PyTorch runtime
(Runtime.uint8_input_spec). Each must give the model's own answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sfc_sdk import ModelConfig, Recognizer
from sfc_sdk.config import SFCSettings
from sfc_sdk.converters.exportable import ExportableSFC, ExportShape
from sfc_sdk.converters.onnx_converter import export_onnx
from sfc_sdk.inference.sfc import sfc_recipe
from sfc_sdk.model import build_model, save_model
from sfc_sdk.model.backbones.i3d_chunked_stem import ChunkedStem
from sfc_sdk.runtimes.torch_fusion import as_model_input, inference_copy
from sfc_sdk.runtimes.torch_runtime import TorchRuntime
from sfc_sdk.video.preprocess import sfc_input
from sfc_sdk.video.transforms import normalize

CPU = torch.device("cpu")


def _i3d(split: str = "stem", frames: int = 32):
    torch.manual_seed(0)
    config = ModelConfig(backbone="i3d", split=split, labels=tuple(f"c{i}" for i in range(5)),
                         sfc=SFCSettings(frames=frames))
    net, config = build_model(config)
    for m in net.modules():  # random statistics, so a wrongly folded BatchNorm shows
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.bias.data.normal_(0, 0.1)
    torch.nn.init.normal_(net.sfc.score.weight, std=1.0)
    return net.eval(), config


@pytest.mark.parametrize("chunk", [1, 3, 16])
def test_the_stem_in_chunks_gives_the_stems_features(chunk):
    net, config = _i3d()
    fast = inference_copy(net, CPU, head_chunk=chunk, input_spec=config.input_spec)
    assert isinstance(fast.backbone.chunked_head, ChunkedStem)
    gen = torch.Generator().manual_seed(1)
    # Even and odd lengths and sizes: TensorFlow's "SAME" pads them differently.
    for shape in [(2, 3, 18, 64, 48), (1, 3, 9, 65, 63), (1, 3, 2, 32, 32)]:
        x = torch.randn(shape, generator=gen)
        with torch.inference_mode():
            want = net.backbone.forward_head(x)
            got = fast.backbone.forward_head(as_model_input(x, CPU))
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)

    # uint8 frames, normalised a chunk at a time: the features of the normalised input.
    rgb = torch.randint(0, 256, (1, 20, 40, 36, 3), dtype=torch.uint8, generator=gen)
    floats = torch.from_numpy(normalize(rgb[0].numpy(), config.input_spec.mean, config.input_spec.std))[None]
    with torch.inference_mode():
        got = fast.backbone.forward_head(as_model_input(rgb.permute(0, 4, 1, 2, 3), CPU))
        torch.testing.assert_close(got, net.backbone.forward_head(floats), rtol=1e-4, atol=1e-4)


def test_only_a_head_that_is_the_stem_runs_in_chunks():
    net, _ = _i3d(split="Mixed_3b")
    assert net.backbone.make_chunked_head(16) is None
    assert inference_copy(net, CPU).backbone.chunked_head is None
    stem, _ = _i3d()
    assert inference_copy(stem, CPU, head_chunk=None).backbone.chunked_head is None
    # The user's model is left as it was: it trains and exports the plain head.
    assert stem.backbone.chunked_head is None and stem.backbone.input_normalization is None


def test_uint8_frames_from_a_model_directory_give_the_models_answer(tmp_path, run_clip):
    net, config = _i3d()
    directory = save_model(net, config, tmp_path / "i3d")

    from_dir = Recognizer(directory, device="cpu")
    in_memory = Recognizer.from_model(net, config, device="cpu")  # no saved preprocessing: float input
    assert from_dir.runtime.uint8_input_spec == from_dir.input_spec
    assert from_dir.sfc_recipe().uint8 and not in_memory.sfc_recipe().uint8

    got, want = from_dir.predict(run_clip, top_k=5), in_memory.predict(run_clip, top_k=5)
    assert [s.label for s in got.top] == [s.label for s in want.top]
    np.testing.assert_allclose([s.score for s in got.top], [s.score for s in want.top], rtol=1e-4, atol=1e-5)
    assert [k.frame for k in got.kept] == [k.frame for k in want.kept]

    # A runtime whose preprocessing is not the model's gets float input.
    runtime = TorchRuntime(directory, "cpu")
    assert sfc_recipe(runtime, from_dir.config).uint8
    runtime.uint8_input_spec = replace(config.input_spec, mean=(0.4, 0.4, 0.4))
    assert not sfc_recipe(runtime, from_dir.config).uint8
    with pytest.raises(Exception, match="uint8 frames need"):
        TorchRuntime(net, "cpu", optimize=False).run_sfc(np.zeros((1, 3, 32, 224, 224), np.uint8), 4)


def test_a_model_whose_head_runs_whole_takes_float_input(tiny_model_dir):
    # uint8 saves memory only where the head runs in chunks; elsewhere the decode-ahead
    # thread normalises, as before.
    rec = Recognizer(tiny_model_dir, device="cpu")
    assert rec.runtime.uint8_input_spec is None and not rec.sfc_recipe().uint8


def test_uint8_input_of_reversed_channels_is_a_tensor_torch_takes():
    spec = _i3d()[1].input_spec
    rgb = np.random.default_rng(0).integers(0, 256, (4, 240, 250, 3), dtype=np.uint8)
    bgr = rgb[..., ::-1]  # what an OpenCV caller holds, flipped as a view
    x = sfc_input(bgr, spec, uint8=True)
    assert x.shape == (1, 3, 4, 224, 224) and x.dtype == np.uint8
    np.testing.assert_array_equal(torch.from_numpy(x).numpy()[0], bgr[:, 8:232, 13:237].transpose(3, 0, 1, 2))


def test_an_onnx_export_runs_the_stem_in_chunks_and_answers_as_the_model(tmp_path: Path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net, _ = _i3d(frames=40)
    shape = ExportShape(frames=40, ratio=2, crop=64, head_stride=2)  # 20 head steps: chunks of 8, 8 and 4
    path = export_onnx(ExportableSFC(net, 2), shape, tmp_path / "i3d.onnx")
    assert net.backbone.chunked_head is None  # the user's model keeps its plain head

    convs = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
    in_chunks = [n for n in convs if any("chunked_head" in p.value for p in n.metadata_props)]
    assert len(in_chunks) == 3 * 3  # the stem's three convolutions, once per chunk

    x = torch.randn(shape.input_shape, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        want_logits, want_kept = net(x, 2)
    got_logits, got_kept = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"frames": x.numpy()})
    np.testing.assert_allclose(got_logits, want_logits.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(got_kept, want_kept.numpy())
