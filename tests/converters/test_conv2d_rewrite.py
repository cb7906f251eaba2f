"""The TFLite rewrite of factorised Conv3d layers computes exactly what the Conv3d did."""

from __future__ import annotations

import pytest
import torch

from sfc_sdk import create_backbone
from sfc_sdk.converters.conv2d_rewrite import Conv3dAs2d, conv3d_as_conv2d


@pytest.mark.parametrize("name,shape,expected", [
    ("r2plus1d_tiny", (1, 3, 16, 64, 64), None),
    ("r2plus1d_18", (1, 3, 8, 56, 56), None),
    ("r3d_18", (1, 3, 8, 56, 56), 3),  # only the three strided 1x1x1 downsamples are factorised
])
def test_rewritten_backbone_matches_the_original(name, shape, expected):
    torch.manual_seed(0)
    net = create_backbone(name, num_classes=7).eval()
    rewritten, count = conv3d_as_conv2d(net)
    convs = sum(isinstance(m, torch.nn.Conv3d) for m in net.modules())
    assert count == (expected if expected is not None else convs)  # (2+1)D nets: every Conv3d
    assert sum(isinstance(m, Conv3dAs2d) for m in rewritten.modules()) == count
    x = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(rewritten(x), net(x), rtol=1e-4, atol=1e-4)
    # the original is left untouched
    assert not any(isinstance(m, Conv3dAs2d) for m in net.modules())
    assert sum(isinstance(m, torch.nn.Conv3d) for m in net.modules()) == convs
