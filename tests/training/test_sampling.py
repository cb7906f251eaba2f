"""Training-time clip sampling: SFC clips show the frozen tail the layout an SFC pass gives it."""

from __future__ import annotations

import numpy as np

from sfc_sdk.config import InputSpec
from sfc_sdk.inference.sfc_input import SfcRecipe
from sfc_sdk.training.data import sfc_clip_indices

HEAD_STRIDE = 4  # input frames per head step (3D ShuffleNet, R(2+1)D tiny)


def tail_frames_of_an_sfc_pass(n: int, ratio: int = 4) -> np.ndarray:
    """The frames behind the head steps an untrained SFC module keeps (uniform), as the
    SDK plans them for an n-frame video: (kept steps, HEAD_STRIDE) frame indices."""
    spec = InputSpec(clip_len=16, frame_stride=2, crop_size=112, resize_size=112, mean=(0.5,) * 3, std=(0.5,) * 3)
    lengths = tuple(range(16, 64, 16))
    recipe = SfcRecipe(spec, frames=64, ratio=ratio, head_stride=HEAD_STRIDE, short="adapt", short_lengths=lengths)
    sampled = np.asarray(recipe.plan(n))
    used_ratio = ratio if len(sampled) == 64 else len(sampled) // recipe.unit
    steps = [s for s in range(len(sampled) // HEAD_STRIDE) if s % used_ratio == used_ratio // 2]
    return np.stack([sampled[s * HEAD_STRIDE:(s + 1) * HEAD_STRIDE] for s in steps])


def test_sfc_clips_cover_the_spacing_an_sfc_pass_gives_the_tail():
    rng = np.random.default_rng(0)
    for n in (36, 50, 64, 146):  # Weizmann's shortest, a short clip, the SFC input, its longest
        tail = tail_frames_of_an_sfc_pass(n)
        sfc_spacing = float(np.diff(tail[:, 0]).mean())
        draws = np.stack([sfc_clip_indices(n, 16, HEAD_STRIDE, rng) for _ in range(300)])
        assert draws.min() >= 0 and draws.max() < n and (np.diff(draws, axis=1) >= 0).all()
        groups = draws.reshape(len(draws), -1, HEAD_STRIDE)
        inner = np.diff(groups, axis=2)
        assert inner.max() <= 3, "frames of one head step stay close together, as SFC samples them"
        spacing = np.diff(groups[:, :, 0], axis=1).mean(axis=1)
        # From an ordinary clip (groups touching) to spread as far as SFC spreads what the tail sees.
        assert spacing.min() <= HEAD_STRIDE * 1.5 and sfc_spacing <= spacing.max() + 1, (n, sfc_spacing)
