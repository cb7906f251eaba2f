"""GMAC counts behind the cost model and benchmarks/flops.py."""

from __future__ import annotations

import pytest

from sfc_sdk import ModelConfig, SFCModel
from sfc_sdk.model.flops import sfc_gmacs, view_gmacs


def test_r3d_18_sfc_costs_about_9x_less_than_30_views():
    """The issue's reference point: head after layer2, 64 frames at ratio 4."""
    model = SFCModel.from_config(ModelConfig(backbone="r3d_18", labels=tuple("ab")))
    one = view_gmacs(model, 16, 112)
    assert one == pytest.approx(40.7, rel=0.02)  # torchvision lists 40.7 G for r3d_18
    costs = {r: sfc_gmacs(model, 64, r, 112) for r in (2, 4, 8)}
    assert 8.0 < 30 * one / costs[4].total < 10.0
    # The head dominates and does not depend on the ratio; the tail halves with each doubling.
    assert costs[2].head == costs[8].head and costs[4].head > 0.9 * costs[4].total
    assert costs[2].tail == pytest.approx(2 * costs[4].tail, rel=0.01)
    assert costs[4].sfc < 0.01 * costs[4].total
