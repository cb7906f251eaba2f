"""The frozen head's features of every training and validation video, computed once.

Because the backbone is frozen (and in eval mode), head features do not depend on
training: they are computed once per video for a few augmented samplings ("variants"),
and each step only runs the SFC module and the tail. Each video is sampled as `predict`
samples it at each trained ratio (`InputPlan`), so the module trains on the input
lengths it will meet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import InputSpec
from ..inference import Recognizer
from ..model import SFCModel
from ..video.decode import sample_frames
from ..video.sampling import uniform_indices
from ..video.transforms import center_crop, normalize
from .data import augment, jittered_uniform_indices
from .sfc_data import TrainingVideo

VAL_RATIO = 4  # validation runs every video at this ratio


@torch.no_grad()
def head_features(model: SFCModel, spec: InputSpec, path: Path, lengths_of: Callable[[int], Sequence[int]],
                  variants: int, seed: int, index: int) -> tuple[int, dict[int, list[torch.Tensor]]]:
    """The video's frame count and head features (fp16) of `variants` samplings of it at
    each input length `lengths_of(n)` names. Variant 0 is the plain inference sampling
    (uniform, centre crop); the others are jittered and augmented."""
    lengths: list[int] = []

    def seed_key(length: int) -> list[int]:
        return [] if length == lengths[-1] else [length]  # the longest keeps the seeds it always had

    def plans(n: int) -> list[np.ndarray]:
        lengths.extend(sorted(set(lengths_of(n))))
        out = []
        for length in lengths:
            rngs = [np.random.default_rng([seed, index, j, *seed_key(length)]) for j in range(1, variants)]
            out += [np.asarray(uniform_indices(n, length))] + [jittered_uniform_indices(n, length, r) for r in rngs]
        return out

    clip = sample_frames(path, lambda n: np.concatenate(plans(n)).tolist(), spec.resize_size)
    feats: dict[int, list[torch.Tensor]] = {}
    start = 0
    for length in lengths:
        for j in range(variants):
            chunk = clip.frames[start:start + length]
            start += length
            if j == 0:
                chunk = center_crop(chunk, spec.crop_size)
            else:
                chunk = augment(chunk, spec.crop_size, np.random.default_rng([seed, index, j, 1, *seed_key(length)]))
            x = torch.from_numpy(normalize(chunk, spec.mean, spec.std))[None]
            feats.setdefault(length, []).append(model.backbone.forward_head(x)[0].half())
    return clip.num_frames, feats


class InputPlan:
    """Each video's input length and the ratio it runs at, per ratio asked for, as
    `predict` samples it (`short`: the SFC recipe's rule for short clips)."""

    def __init__(self, rec: Recognizer, frames: int, ratios: Iterable[int], short: str,
                 score_window: int | None) -> None:
        self.frames = frames
        self.head_stride = rec.head_stride
        self.score_window = score_window
        self._recipes = {r: rec.sfc_recipe(r, frames, short) for r in ratios}

    def run_at(self, n: int, ratio: int) -> tuple[int, int]:
        """(input length, ratio it runs at) of a video of `n` frames asked for at `ratio`."""
        length = len(self._recipes[ratio].plan(n))
        return length, self._recipes[ratio].ratio_at(length)

    def lengths(self, ratios: Sequence[int]) -> Callable[[int], list[int]]:
        """The input lengths of a video of n frames at each of `ratios` (for `head_features`)."""
        return lambda n: [self.run_at(n, r)[0] for r in ratios]

    def window(self, length: int, used: int) -> int:
        """The informativeness window as a ratio of this input's head steps: the steps the
        tail gets (score_window None), else as many steps as `score_window` gives at the
        full length."""
        if self.score_window is None:
            return used
        steps = self.frames // self.head_stride // self.score_window
        return max(1, length // self.head_stride // steps)


@dataclass(frozen=True)
class FeatureCache:
    train: list[dict[int, list[torch.Tensor]]]  # per training video: input length -> one per variant
    runs: list[dict[int, tuple[int, int]]]  # per training video: trained ratio -> (input length, ratio run at)
    val: list[tuple[torch.Tensor, int]]  # per validation video: (features, ratio run at) at VAL_RATIO

    @property
    def input_lengths(self) -> list[int]:
        return sorted({length for c in self.train for length in c})


def cache_features(model: SFCModel, spec: InputSpec, plan: InputPlan, train_videos: Sequence[TrainingVideo],
                   val_videos: Sequence[TrainingVideo], ratios: Sequence[int], variants: int, seed: int,
                   progress: bool) -> FeatureCache:
    """Head features of `variants` samplings of every training video at each of `ratios`,
    and of the plain sampling of every validation video at VAL_RATIO."""
    from tqdm import tqdm

    counts, train = zip(*[head_features(model, spec, v.path, plan.lengths(ratios), variants, seed, i)
                          for i, v in enumerate(tqdm(train_videos, desc="head features", disable=not progress,
                                                     leave=False))], strict=True)
    runs = [{r: plan.run_at(n, r) for r in ratios} for n in counts]
    val = []
    for i, v in enumerate(tqdm(val_videos, desc="val features", disable=not progress, leave=False)):
        n, feats = head_features(model, spec, v.path, plan.lengths([VAL_RATIO]), 1, seed, i)
        length, used = plan.run_at(n, VAL_RATIO)
        val.append((feats[length][0], used))
    return FeatureCache(list(train), runs, val)
