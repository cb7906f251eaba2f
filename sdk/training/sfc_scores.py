"""What the SFC module's informativeness scores learn to match: where in each video the
frozen tail classifies it best.

TopK itself passes no gradient to the scores, and the two cheaper signals tried first
went wrong on Weizmann: a straight-through softmax learned the borders of the video,
and attention-based multiple-instance learning learned the actor's static "ghost" in
the empty frames of long videos (see docs/benchmarks.md). So each score target is
measured directly, once per cached sampling, by running the tail on windows of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .sfc_features import FeatureCache, InputPlan

WINDOW_BATCH_BYTES = 256 << 20
WINDOWS_PER_STEP = 4

ScoreKey = tuple[int, int, int, int]  # (video, input length, variant, window)


@torch.no_grad()
def informativeness(backbone: torch.nn.Module, feats: torch.Tensor, target: torch.Tensor, window: int,
                    temperature: float) -> torch.Tensor:
    """Where does the frozen tail classify this video best? (T,) target distribution.

    The tail runs on every window of K = T / window consecutive head steps; each
    step gets the mean log-probability of `target` (classes,) over the windows that hold
    it (the true class one-hot, or without labels the dense teacher's distribution), and a
    softmax turns those into the distribution the scores learn to match.
    """
    t = feats.shape[1]
    k = max(1, t // window)
    # A window starts every k // WINDOWS_PER_STEP steps (every step on the bundled model):
    # each step is still judged by about that many windows, and 256-frame I3D runs its tail
    # 13 times instead of 97 (40 s per clip and variant).
    stride = max(1, k // WINDOWS_PER_STEP)
    starts = sorted({*range(0, t - k + 1, stride), t - k})
    # Windows go to the tail in batches of at most WINDOW_BATCH_BYTES of features: all 97
    # windows of 256-frame I3D at once stacked 4.7 GB and peaked at 15 GB.
    per_batch = max(1, WINDOW_BATCH_BYTES // (feats[:, :k].numel() * 4))
    parts = []
    for first in range(0, len(starts), per_batch):
        windows = torch.stack([feats[:, s:s + k] for s in starts[first:first + per_batch]]).float()
        parts.append((F.log_softmax(backbone.forward_tail(windows), dim=1) * target).sum(1))
    logp = torch.cat(parts)  # (windows,)
    cover = torch.zeros(t)
    hits = torch.zeros(t)
    for s, value in zip(starts, logp.tolist(), strict=True):
        cover[s:s + k] += value
        hits[s:s + k] += 1
    return F.softmax(cover / hits / temperature, dim=0)


def score_targets(backbone: torch.nn.Module, features: FeatureCache, plan: InputPlan, targets: torch.Tensor,
                  temperature: float, learned: bool, progress: bool) -> dict[ScoreKey, torch.Tensor]:
    """The informativeness target of every cached sampling of every training video, at the
    window of each ratio it trains at; `targets` (videos, classes): what each video's
    windows are scored on. `learned` False (a selector with no score layer to teach):
    none, the stage's progress bar still shown (empty) as before."""
    from tqdm import tqdm

    out: dict[ScoreKey, torch.Tensor] = {}
    bar = tqdm(features.runs if learned else [], desc="informativeness", disable=not progress, leave=False)
    for i, runs in enumerate(bar):
        for length, used in runs.values():
            w = plan.window(length, used)
            for j, f in enumerate(features.train[i][length]):
                if (i, length, j, w) not in out:
                    out[(i, length, j, w)] = informativeness(backbone, f, targets[i], w, temperature)
    return out
