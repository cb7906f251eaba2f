"""The TFLite rewrites of grouped and depthwise Conv3d layers and of 3D pooling compute
exactly what those layers did: one layer at a time, on whole real networks (the Jester
3D ShuffleNet, X3D-S) on a real clip, and through a real LiteRT export."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from sfc_sdk import create_backbone, load_checkpoint
from sfc_sdk.converters.conv2d_rewrite import Conv3dAs2d, conv3d_as_conv2d
from sfc_sdk.converters.conv3d_rewrites import Conv3dAsTaps, Pool3dAs2d, convs_and_pools_as_2d
from sfc_sdk.converters.tflite_converter import rewrite_for_tflite
from sfc_sdk.errors import ConfigError
from sfc_sdk.model.sfc import SelectiveFeatureCompression
from sfc_sdk.video.decode import sample_frames
from sfc_sdk.video.preprocess import sfc_input
from sfc_sdk.video.sampling import uniform_indices

POOLS_3D = (nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d)


def _assert_same(got: torch.Tensor, want: torch.Tensor) -> None:
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))


# in, out, kernel, stride, padding, groups
TAPS = [(6, 6, 3, 1, 1, 6),  # depthwise 3x3x3 (every efficient 3D CNN)
        (6, 6, 3, 2, 1, 6),  # strided in time and space (ShuffleNet's, MobileNet's downsampling units)
        (6, 6, 3, (2, 1, 1), (0, 1, 1), 6),  # temporal stride 2 without temporal padding
        (4, 8, (2, 3, 3), (1, 2, 2), (1, 0, 0), 4),  # channel multiplier 2, padded in time only
        (6, 9, 3, 2, 1, 3),  # grouped, not depthwise
        (3, 5, 3, (1, 2, 2), 1, 1)]  # dense (the Efficient-3DCNNs stem)


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,groups", TAPS)
def test_conv3d_as_temporal_taps_of_conv2d(cin, cout, kernel, stride, padding, groups):
    torch.manual_seed(0)
    conv = nn.Conv3d(cin, cout, kernel, stride, padding, groups=groups, bias=True)  # bias: added once, not per tap
    x = torch.randn(2, cin, 7, 9, 10)
    with torch.no_grad():
        _assert_same(Conv3dAsTaps(conv)(x), conv(x))


# grouped factorisable convs keep their groups as one Conv2d: 1x1x1 (ShuffleNet), (k, 1, 1) depthwise (X3D's stem)
@pytest.mark.parametrize("cin,cout,kernel,stride,padding,groups", [
    (6, 9, 1, 1, 0, 3), (6, 9, 1, (2, 2, 2), 0, 3), (6, 6, (5, 1, 1), 1, (2, 0, 0), 6),
    (6, 6, (3, 1, 1), (2, 1, 1), (1, 0, 0), 6), (6, 6, (1, 3, 3), (1, 2, 2), (0, 1, 1), 6)])
def test_grouped_factorisable_conv3d_as_one_conv2d(cin, cout, kernel, stride, padding, groups):
    torch.manual_seed(0)
    conv = nn.Conv3d(cin, cout, kernel, stride, padding, groups=groups, bias=True)
    x = torch.randn(2, cin, 7, 9, 10)
    with torch.no_grad():
        _assert_same(Conv3dAs2d(conv)(x), conv(x))


@pytest.mark.parametrize("pool", [
    nn.MaxPool3d(3, 2, 1),  # the Efficient-3DCNNs stem
    nn.MaxPool3d((2, 3, 3), (1, 2, 2), (1, 1, 1)),
    nn.AvgPool3d((2, 3, 3), 2, (0, 1, 1)),  # ShuffleNet's strided shortcut
    nn.AvgPool3d(3, 2, 1),
    nn.AvgPool3d(3, (2, 1, 1), 1, count_include_pad=False),
], ids=repr)
def test_pool3d_as_2d_pools_over_space_then_time(pool):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 7, 9, 10)
    _assert_same(Pool3dAs2d(pool)(x), pool(x))


def test_what_has_no_2d_form_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="grouped Conv3d.*dilation"):
        rewrite_for_tflite(nn.Sequential(nn.Conv3d(4, 4, 3, dilation=2, groups=4)))
    with pytest.raises(ConfigError, match="AdaptiveAvgPool3d"):
        rewrite_for_tflite(nn.Sequential(nn.AdaptiveAvgPool3d((2, 1, 1))))
    with pytest.raises(ConfigError, match="MaxPool3d"):
        rewrite_for_tflite(nn.Sequential(nn.MaxPool3d(3, 2, 1, ceil_mode=True)))


def _backbone(name: str, request: pytest.FixtureRequest) -> nn.Module:
    if name == "shufflenet_3d":  # the real Jester weights: 0.5x, 3 groups
        return load_checkpoint(name, request.getfixturevalue("jester_checkpoint")).eval()
    torch.manual_seed(0)
    net = create_backbone(name, num_classes=10).eval()
    for m in net.modules():  # random BN statistics: X3D's init zeroes each residual branch's last BN
        if isinstance(m, nn.BatchNorm3d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net


# 3D ShuffleNet: 16 depthwise 3x3x3 convs and its dense 3x3x3 stem; X3D-S: 26 grouped/depthwise k x k x k
@pytest.mark.parametrize("name,taps,pools", [("shufflenet_3d", 17, 4), ("x3d_s", 26, 0)])
def test_rewritten_backbone_gives_the_same_logits_on_a_real_clip(name, taps, pools, request, run_clip):
    net = _backbone(name, request)
    spec = net.input_spec
    frames = sample_frames(run_clip, lambda n: uniform_indices(n, spec.clip_len), spec.resize_size).frames
    x = torch.from_numpy(sfc_input(frames, spec))

    as_2d, _ = conv3d_as_conv2d(net)
    _, convs, n_pools = convs_and_pools_as_2d(as_2d)
    assert (convs, n_pools) == (taps, pools)
    rewritten, notes = rewrite_for_tflite(net)
    assert not any(isinstance(m, (nn.Conv3d, *POOLS_3D)) for m in rewritten.modules())
    assert any(n.startswith(f"{taps} other Conv3d layers") for n in notes)
    with torch.no_grad():
        want = net(x)
        _assert_same(rewritten(x), want)
    assert any(isinstance(m, nn.Conv3d) and m.groups > 1 for m in net.modules())  # the original is untouched


def test_bundled_shufflenet_exports_to_litert_with_xnnpack_ops(bundles):
    """The bundled model is the Jester 3D ShuffleNet: its TFLite bundle (the one the export
    parity tests run on real clips) holds no CONV_3D and no reference 3D pooling."""
    from ai_edge_litert.interpreter import Interpreter

    bundle = bundles("tflite", "fp32")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["parity"]["top1_agreement"] == 1.0 and manifest["parity"]["cosine_min"] > 0.999
    assert any("other Conv3d layers (depthwise, grouped, dense)" in n for n in manifest["notes"])
    ops = [op["op_name"] for op in Interpreter(model_path=str(bundle / "model.tflite"))._get_ops_details()]
    assert "DEPTHWISE_CONV_2D" in ops and not any(op.startswith("STABLEHLO") for op in ops)
    assert "CONV_3D" not in ops  # the dense stem too: LiteRT runs CONV_3D on a reference kernel


class _NoveltyAtRatio4(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.sfc = SelectiveFeatureCompression(16, selector="novelty", attention=False)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sfc(feats, 4)


def test_novelty_selector_runs_in_litert_as_in_pytorch(tmp_path):
    """The training-free selector's median is built from comparisons and sums: a median by
    sorting lowered to STABLEHLO_SORT, which LiteRT cannot run (the pulled I3D's TFLite bundle
    then failed to load). Features with an unusual stretch: LiteRT keeps the same steps."""
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter

    torch.manual_seed(0)
    feats = torch.randn(1, 16, 1, 4, 4) + 0.1 * torch.randn(1, 16, 32, 4, 4)
    feats[:, :, 12:18] += 2 * torch.randn(1, 16, 1, 4, 4)  # the action: steps unlike the rest
    module = _NoveltyAtRatio4().eval()
    with torch.no_grad():
        want_feats, want_kept = module(feats)
    path = tmp_path / "novelty.tflite"
    litert_torch.convert(module, (feats,)).export(str(path))
    interpreter = Interpreter(model_path=str(path))
    assert not any(op["op_name"].startswith("STABLEHLO") for op in interpreter._get_ops_details())
    runner = interpreter.get_signature_runner()
    got = list(runner(**{runner.get_input_details().popitem()[0]: feats.numpy()}).values())
    got_kept = next(g for g in got if g.dtype.kind == "i")
    got_feats = next(g for g in got if g.dtype.kind == "f")
    assert got_kept.tolist() == want_kept.tolist()
    assert sum(12 <= k < 18 for k in got_kept[0].tolist()) >= 3  # the stretch holds most of the 8 kept steps
    _assert_same(torch.from_numpy(got_feats), want_feats)
