"""The SFC module: shapes, uniform-subsampling init, TopK selection, gradients, export."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from sfc_sdk import ModelConfig, SelectiveFeatureCompression, SFCModel
from sfc_sdk.config import SFCSettings
from sfc_sdk.errors import ConfigError

LABELS = tuple("abcdefghij")
CRICKET = Path(__file__).parents[1] / "data" / "clips" / "v_CricketShot_g04_c01_rgb.gif"  # in the repo


def _model(backbone: str = "r2plus1d_tiny") -> SFCModel:
    torch.manual_seed(0)
    return SFCModel.from_config(ModelConfig(backbone=backbone, labels=LABELS))


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_output_is_shaped_for_the_tail(ratio):
    sfc = SelectiveFeatureCompression(32).eval()
    feats = torch.randn(2, 32, 32, 6, 6)
    out, kept = sfc(feats, ratio)
    assert out.shape == (2, 32, 32 // ratio, 6, 6)
    assert kept.shape == (2, 32 // ratio) and kept.dtype == torch.int32


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_untrained_module_is_uniform_temporal_subsampling(ratio):
    """The pretrained tail works from step zero: an untrained SFC model equals the tail
    run on head features subsampled uniformly in time."""
    model = _model().eval()
    x = torch.randn(1, 3, 64, 64, 64)
    with torch.no_grad():
        logits, kept = model(x, ratio)
        feats = model.backbone.forward_head(x)
        uniform = feats[:, :, ratio // 2 :: ratio]
        expected = model.backbone.forward_tail(uniform)
    assert kept[0].tolist() == list(range(ratio // 2, 32, ratio))
    torch.testing.assert_close(logits, expected)


def _select_channel0(sfc: SelectiveFeatureCompression) -> None:
    """Weights that make the score the (ReLU'd) spatial mean of feature channel 0."""
    with torch.no_grad():
        for layer in (sfc.abstraction[0], sfc.abstraction[2]):
            conv = layer.conv
            conv.weight.zero_()
            conv.bias.zero_()
            conv.weight[0, 0, 1] = 1.0
        sfc.score.weight.zero_()
        sfc.score.weight[0, 0, 0] = 10.0


def test_topk_keeps_the_most_informative_positions_in_temporal_order():
    sfc = SelectiveFeatureCompression(8).eval()
    _select_channel0(sfc)
    feats = torch.randn(1, 8, 32, 4, 4) * 0.01
    informative = [25, 3, 14, 9]  # deliberately out of order
    for rank, t in enumerate(informative):
        feats[0, 0, t] += 5.0 + rank
    out, kept = sfc(feats, 8)
    assert kept[0].tolist() == sorted(informative)
    # Gate at zero: the output is exactly the head features at the kept positions.
    torch.testing.assert_close(out, feats[:, :, sorted(informative)])


def test_kept_positions_are_increasing_for_any_scores():
    torch.manual_seed(1)
    sfc = SelectiveFeatureCompression(16, prior=0.0).eval()
    torch.nn.init.normal_(sfc.score.weight, std=3.0)
    for _ in range(20):
        _, kept = sfc(torch.randn(3, 16, 24, 3, 3), 3)
        assert kept.shape == (3, 8)
        assert bool((kept[:, 1:] > kept[:, :-1]).all()) and int(kept.min()) >= 0 and int(kept.max()) < 24


def test_batch_items_are_independent():
    model = _model().eval()
    torch.nn.init.normal_(model.sfc.score.weight, std=1.0)
    torch.nn.init.constant_(model.sfc.gate, 0.5)
    x = torch.randn(2, 3, 32, 48, 48)
    with torch.no_grad():
        both, kept = model(x, 4)
        for i in range(2):
            one, kept_one = model(x[i : i + 1], 4)
            torch.testing.assert_close(both[i : i + 1], one, rtol=1e-4, atol=1e-5)
            assert torch.equal(kept[i], kept_one[0])


def test_gradients_reach_every_trained_part_and_never_the_backbone():
    """The tail's loss trains attention and gate (once the gate opens); the scores, which
    TopK cannot pass a gradient to, are trained by their own target distribution."""
    model = _model().train()
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    torch.nn.init.constant_(model.sfc.gate, 0.1)
    x = torch.randn(2, 3, 32, 48, 48)
    logits, _ = model(x, 4)
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 2])).backward()
    grads = {n: p.grad for n, p in model.sfc.named_parameters()}
    for name in ("gate", "query.weight", "key.weight", "abstraction.0.conv.weight"):
        assert grads[name] is not None and grads[name].abs().sum() > 0, name
    assert grads["score.weight"] is None  # TopK: no gradient from the tail
    assert all(p.grad is None for p in model.backbone.parameters())

    _, learned = model.sfc.scores(model.backbone.forward_head(x))
    target = torch.softmax(torch.randn(2, learned.shape[1]), dim=1)
    (-(target * torch.log_softmax(learned, dim=1)).sum(1).mean()).backward()
    assert model.sfc.score.weight.grad.abs().sum() > 0


def test_bounded_gate_blends_real_features_and_selection_alone_passes_them_through():
    """gate="bounded": whatever the trained gate, each output is a convex blend of the
    kept step's features and the attention output (no extrapolation); attention=False
    hands the tail exactly the kept steps' features."""
    torch.manual_seed(2)
    feats = torch.randn(2, 8, 16, 3, 3)
    free = SelectiveFeatureCompression(8).eval()
    torch.nn.init.normal_(free.score.weight, std=2.0)
    torch.nn.init.normal_(free.query.weight)
    with torch.no_grad():
        free.gate.copy_(torch.linspace(-1.0, 2.0, 8))  # outside [0, 1] at both ends
    bounded = SelectiveFeatureCompression(8, gate="bounded").eval()
    select = SelectiveFeatureCompression(8, attention=False).eval()
    bounded.load_state_dict(free.state_dict())
    select.load_state_dict(free.state_dict())
    with torch.no_grad():
        out_bounded, kept = bounded(feats, 4)
        out_select, kept_select = select(feats, 4)
        clamped = free.gate.clamp(0, 1).clone()
        free.gate.copy_(clamped)
        out_clamped, _ = free(feats, 4)
    torch.testing.assert_close(out_bounded, out_clamped)
    assert torch.equal(kept, kept_select)
    kept_feats = torch.stack([feats[b][:, kept[b].long()] for b in range(2)])
    torch.testing.assert_close(out_select, kept_feats)
    with pytest.raises(ConfigError, match="gate"):
        ModelConfig(backbone="r2plus1d_tiny", labels=LABELS, sfc=SFCSettings(gate="tanh"))


def test_ratio_must_divide_the_head_length():
    model = _model()
    with pytest.raises(ConfigError, match="ratio 5"):
        model(torch.zeros(1, 3, 64, 32, 32), 5)
    with pytest.raises(ConfigError, match="multiple of the head's temporal stride"):
        model(torch.zeros(1, 3, 63, 32, 32), 4)


class _AtRatio(torch.nn.Module):
    def __init__(self, model: SFCModel, ratio: int) -> None:
        super().__init__()
        self.model, self.ratio = model, ratio

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(x, self.ratio)


@pytest.mark.parametrize("selector", ["learned", "novelty"])
def test_exports_as_a_static_graph_without_sort(selector):
    """The selection path exports: topk indices, integer logic, one-hot matmul."""
    torch.manual_seed(0)
    model = SFCModel.from_config(ModelConfig(backbone="r2plus1d_tiny", labels=LABELS,
                                             sfc=SFCSettings(selector=selector))).eval()
    torch.nn.init.normal_(model.sfc.score.weight, std=1.0)
    x = torch.randn(1, 3, 64, 64, 64)
    exported = torch.export.export(_AtRatio(model, 4), (x,))
    ops = {str(n.target) for n in exported.graph.nodes if n.op == "call_function"}
    assert any("topk" in op for op in ops)
    assert not any("sort" in op for op in ops), ops
    with torch.no_grad():
        eager = model(x, 4)
        graph = exported.module()(x)
    torch.testing.assert_close(graph[0], eager[0])
    assert torch.equal(graph[1], eager[1])


def test_novelty_selector_keeps_an_action_inside_footage_of_its_scene(tmp_path):
    """The training-free selector on real video: a real clip placed inside footage of its
    empty scene, the bundled model's head. Uniform sampling keeps steps in proportion to
    the action's share of the video; novelty keeps the action."""
    from sfc_sdk.defaults import default_model_dir
    from sfc_sdk.model import load_model
    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.longvideo import make_long_video
    from sfc_sdk.video.preprocess import sfc_input
    from sfc_sdk.video.sampling import uniform_indices

    model, config = load_model(default_model_dir())
    novelty = SFCModel.around(model.backbone, replace(config.sfc, selector="novelty")).eval()
    frames = config.sfc.frames
    inside = {"learned": [], "novelty": []}
    for seed in range(3):
        long = make_long_video(CRICKET, tmp_path, seed=seed)
        indices = uniform_indices(long.num_frames, frames)
        x = torch.from_numpy(sfc_input(sample_frames(long.path, lambda n: uniform_indices(n, frames),
                                                     config.input_spec.resize_size).frames, config.input_spec))
        with torch.no_grad():
            feats = model.backbone.forward_head(x)
            per_step = frames / feats.shape[2]
            for name, net in (("learned", SFCModel.around(model.backbone, config.sfc)), ("novelty", novelty)):
                _, kept = net.sfc(feats, 4)  # a fresh learned module: uniform sampling, the control
                frame_of = [indices[int((k + 0.5) * per_step)] for k in kept[0].tolist()]
                inside[name] += [long.action_start <= f < long.action_end for f in frame_of]
    assert sum(inside["novelty"]) / len(inside["novelty"]) >= 0.6, inside
    assert sum(inside["novelty"]) >= 2 * sum(inside["learned"]), inside


def test_novelty_selector_samples_an_even_clip_uniformly():
    """Steps that differ only by noise stand out from none: the prior keeps uniform sampling."""
    torch.manual_seed(0)
    sfc = SelectiveFeatureCompression(64, selector="novelty").eval()
    feats = torch.randn(2, 64, 1, 3, 3) + 0.05 * torch.randn(2, 64, 32, 3, 3)
    with torch.no_grad():
        _, kept = sfc(feats, 4)
    assert kept.tolist() == [list(range(2, 32, 4))] * 2
