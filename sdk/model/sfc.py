"""Selective Feature Compression (Liu et al., ICCV 2021, arXiv 2104.00179).

Sits between a backbone's head and tail. Given head features of a long input
(B, C, T, H, W) and a compression ratio r, it returns features of length K = T / r,
shaped exactly as the tail expects, plus the K time positions it kept:

1. Abstraction: features pooled over space, then a small temporal conv stack
   -> one descriptor per time step, and from it an informativeness score. (TopK is
   not differentiable; training teaches the scores where the frozen tail classifies
   best: `sfc_sdk.training.sfc_scores` and `sfc_objective`.)
2. TopK pooling along time: the K highest-scoring positions, kept in temporal order.
   Their descriptors are the queries, at the compressed length.
3. Attention of those queries over keys from *all* T positions; values are the head
   features themselves, so the output stays in the distribution the frozen tail was
   trained on. A per-channel gate blends the attention output into the selected
   features. `gate="bounded"` clamps it to [0, 1], so every output is a convex blend
   of real head features (a free gate can go negative or past 1 and hand the tail
   extrapolated features); `attention=False` is selection alone.

`selector="novelty"` needs no training: a step's score is how far its head features are
from the video's median step, relative to the mean such distance (0 = typical). In a
trimmed clip the distances are even and the prior keeps sampling uniform; an action
inside footage of its empty scene stands out from the scene and is kept.

Initialisation: the score layer and the gate start at zero and a fixed prior favours
uniformly spaced positions, so an untrained module *is* uniform temporal
subsampling and the pretrained tail works from step zero. After training, the prior
(1.0 by default, in score units) keeps flat-scored videos such as trimmed clips
evenly sampled, while a clear peak (an action inside empty scene) still wins.

Export: the ratio is a Python int (one export per ratio); selection uses topk
*indices* and integer logic (no sort, no float equality), then a one-hot matmul.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class TemporalConv(nn.Module):
    """Conv1d over time whose borders repeat the edge step instead of zero padding: zero
    padding makes the first and last steps look special, and scores learned on them
    would favour the ends of every video."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x[..., :1], x, x[..., -1:]], dim=-1))


def feature_novelty(pooled: torch.Tensor) -> torch.Tensor:
    """(B, C, T) pooled head features -> (B, T): each step's distance to the video's median
    step (per channel), over the mean of those distances, minus 1. In footage that is
    mostly scene, the median is the scene and an action stands out; dividing by the mean
    distance, not its spread, keeps an even clip's small wobbles below the prior. The end
    steps copy their neighbours' scores: the backbone's temporal zero padding makes the
    ends of every video look unlike the rest."""
    b, _, t = (int(s) for s in pooled.shape)
    if t < 3:
        return torch.zeros(b, t, dtype=pooled.dtype, device=pooled.device)
    # The (upper) median by ranks, not median/sort/TopK values: LiteRT lowers those to a sort it
    # cannot run. Rank = how many steps are smaller (ties broken by position), so exactly one
    # step per channel has the median's rank.
    x = pooled.unsqueeze(3)  # (B, C, T, 1): step t
    y = pooled.unsqueeze(2)  # (B, C, 1, T): step s
    before = torch.ones(t, t, dtype=torch.bool, device=pooled.device).tril(diagonal=-1)  # [t, s]: s < t
    smaller = (y < x) | ((y == x) & before)
    rank = smaller.to(pooled.dtype).sum(dim=3)  # (B, C, T)
    median = (pooled * (rank == t - t // 2 - 1).to(pooled.dtype)).sum(dim=2, keepdim=True)
    distance = (pooled - median).pow(2).sum(dim=1).sqrt()  # (B, T)
    score = distance / distance.mean(dim=1, keepdim=True).clamp_min(1e-6) - 1.0
    return torch.cat([score[:, 1:2], score[:, 1:-1], score[:, -2:-1]], dim=1)


class SelectiveFeatureCompression(nn.Module):
    def __init__(self, channels: int, dim: int = 64, prior: float = 1.0, attention: bool = True,
                 gate: str = "free", selector: str = "learned") -> None:
        super().__init__()
        self.channels, self.dim, self.prior, self.selector = channels, dim, prior, selector
        self.attention, self.bounded_gate = attention, gate == "bounded"
        self.abstraction = nn.Sequential(
            TemporalConv(channels, dim),
            nn.ReLU(inplace=True),
            TemporalConv(dim, dim),
            nn.ReLU(inplace=True),
        )
        self.score = nn.Conv1d(dim, 1, kernel_size=1)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.gate = nn.Parameter(torch.zeros(channels))
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def output_length(self, t_in: int, ratio: int) -> int:
        """Time steps kept from `t_in` head time steps at `ratio`; raises if it does not divide."""
        if ratio < 1 or t_in % ratio:
            raise ConfigError(f"ratio {ratio} must be a positive divisor of the head's {t_in} time steps")
        return t_in // ratio

    def scores(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-time descriptors (B, T, D) and informativeness scores (B, T): learned, or
        the features' distance from the video's median step (`selector="novelty"`)."""
        pooled = feats.mean(dim=(3, 4))  # (B, C, T)
        desc = self.abstraction(pooled)  # (B, D, T)
        if self.selector == "novelty":
            return desc.transpose(1, 2), feature_novelty(pooled)
        return desc.transpose(1, 2), self.score(desc).squeeze(1)

    def selection_scores(self, score: torch.Tensor, ratio: int) -> torch.Tensor:
        """Learned scores plus the uniform prior: +`prior` at the centre of each block of
        `ratio` steps. The prior is not trained: it is how much a learned score must
        stand out to pull a kept moment away from uniform subsampling (flat scores,
        as on a trimmed clip, keep evenly spaced moments)."""
        t = int(score.shape[1])  # a constant in every export (one graph per input length)
        uniform = (torch.arange(t, device=score.device) % ratio == ratio // 2).to(score.dtype)
        return score + self.prior * uniform

    def gate_values(self) -> torch.Tensor:
        """The per-channel blend weight actually applied (C,)."""
        # Clamped, not squashed: at 0 it is exactly selection (the untrained module is
        # uniform subsampling), and channels pushed below 0 stay pure selection.
        return self.gate.clamp(0.0, 1.0) if self.bounded_gate else self.gate

    def forward(self, feats: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, T, H, W) -> compressed (B, C, T // ratio, H, W) and kept positions (B, K) int32."""
        compressed, kept, _ = self.compress(feats, ratio)
        return compressed, kept

    def compress(self, feats: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`forward` plus the selection scores (B, T) it chose by (learned + prior)."""
        # Plain ints, so the TorchScript exporter (TensorRT's older opsets) writes TopK's K and
        # the reshapes as constants, not Shape arithmetic TensorRT 8's parser refuses.
        b, c, t, h, w = (int(s) for s in feats.shape)
        k = self.output_length(t, ratio)
        desc, learned = self.scores(feats)
        score = self.selection_scores(learned, ratio)

        # TopK pooling, kept in temporal order without a sort: mark the chosen
        # positions, number them left to right with a cumulative sum, one-hot.
        chosen = score.topk(k, dim=1).indices.to(torch.int32)  # (B, K), any order
        positions = torch.arange(t, device=feats.device, dtype=torch.int32)
        keep = (chosen.unsqueeze(-1) == positions).to(torch.int32).sum(dim=1, dtype=torch.int32)  # (B, T) 0/1
        slot = torch.cumsum(keep, dim=1, dtype=torch.int32) - 1  # output slot of each kept position
        slots = torch.arange(k, device=feats.device, dtype=torch.int32).view(1, k, 1)
        select = (slot.unsqueeze(1) == slots).to(torch.int32) * keep.unsqueeze(1)  # (B, K, T)
        kept = (select * positions).sum(dim=2, dtype=torch.int32)  # (B, K) in temporal order
        onehot = select.to(feats.dtype)

        flat = feats.transpose(1, 2).reshape(b, t, c * h * w)  # values: the head features
        selected = torch.bmm(onehot, flat).view(b, k, c, h * w)
        if not self.attention:
            return selected.view(b, k, c, h, w).transpose(1, 2), kept, score

        # Queries at the compressed length attend over keys from every position.
        q = self.query(torch.bmm(onehot, desc))  # (B, K, D)
        key = self.key(desc)  # (B, T, D)
        attn = F.softmax(torch.bmm(q, key.transpose(1, 2)) / math.sqrt(self.dim), dim=-1)  # (B, K, T)

        attended = torch.bmm(attn, flat).view(b, k, c, h * w)
        out = selected + self.gate_values().view(1, 1, c, 1) * (attended - selected)
        return out.view(b, k, c, h, w).transpose(1, 2), kept, score
