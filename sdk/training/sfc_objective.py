"""What one SFC training step minimises, and the per-epoch validation scores.

Loss: cross-entropy (with labels) plus distillation from the dense prediction of the
same backbone, with a random ratio per batch so one module serves every ratio; a
module with a learned selector also learns to match the informativeness targets
(`sfc_scores`). Every step runs only the SFC module and the frozen tail on cached head
features (`sfc_features`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..model import SFCModel
from .sfc_data import Targets, TrainingVideo
from .sfc_features import VAL_RATIO, FeatureCache, InputPlan
from .sfc_options import SFCTrainOptions
from .sfc_scores import ScoreKey


class SFCObjective:
    """`step_loss` and `validate` for `loop.fit`, over the cached features of one run."""

    def __init__(self, model: SFCModel, features: FeatureCache, targets: Targets, plan: InputPlan,
                 scores: dict[ScoreKey, torch.Tensor], val_videos: Sequence[TrainingVideo],
                 options: SFCTrainOptions, batch_size: int, eval_ratio: int) -> None:
        self.model, self.features, self.targets, self.plan, self.scores = model, features, targets, plan, scores
        self.val_videos, self.options, self.batch_size = val_videos, options, batch_size
        self.eval_ratio = eval_ratio  # the ratio `train_distill` measures at
        self.labelled = targets.labels is not None
        # A "novelty" selector has no score layer to teach: only the attention learns (distillation).
        self.learned_scores = model.sfc.selector == "learned"

    def step_loss(self, step: int, rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of one random batch (videos, variants and one ratio drawn from `rng`)
        and its named parts."""
        sfc, cache, runs, targets = self.model.sfc, self.features.train, self.features.runs, self.targets
        options = self.options
        sfc.train()
        pick = rng.integers(0, len(runs), self.batch_size)
        variant = rng.integers(0, options.variants, self.batch_size)
        ratio = int(rng.choice(options.ratios))
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)  # (length, ratio run at) -> batch rows
        for b, i in enumerate(pick):
            groups[runs[i][ratio]].append(b)
        order, compressed, score_loss = [], [], []
        for (length, used), rows in groups.items():  # each group compresses to the tail's step count
            feats = torch.stack([cache[pick[b]][length][variant[b]] for b in rows]).float()
            compressed.append(sfc(feats, used)[0])
            order += rows
            if not self.learned_scores:
                continue
            _, score = sfc.scores(feats)  # learned part only: the prior stays a fixed preference
            window = self.plan.window(length, used)
            target = torch.stack([self.scores[(pick[b], length, variant[b], window)] for b in rows])
            score_loss.append(-(target * F.log_softmax(score, dim=1)).sum(1))
        picked = torch.from_numpy(pick)[torch.tensor(order)]
        logits = self.model.backbone.forward_tail(torch.cat(compressed))
        loss, parts = torch.zeros(()), {}
        if self.learned_scores:
            scored = torch.cat(score_loss).mean()
            loss, parts["score_loss"] = options.score_weight * scored, scored.item()
        if self.labelled:
            ce = F.cross_entropy(logits, targets.labels[picked])
            loss, parts["ce_loss"] = loss + ce, ce.item()
        mask = targets.distill_mask[picked]
        if (options.distill != "none" or not self.labelled) and mask.sum() > 0:
            kd = F.kl_div(F.log_softmax(logits, 1), targets.teacher[picked], reduction="none").sum(1)
            distilled = (kd * mask).sum() / mask.sum()
            loss, parts["distill_loss"] = loss + options.distill_weight * distilled, distilled.item()
        return loss, parts

    @torch.no_grad()
    def train_distill(self) -> float:
        """KL from the teacher on the training videos as predict samples them (variant 0)."""
        kl = []
        for i, runs in enumerate(self.features.runs):
            length, used = runs[self.eval_ratio]
            compressed, _ = self.model.sfc(self.features.train[i][length][0][None].float(), used)
            log_p = F.log_softmax(self.model.backbone.forward_tail(compressed), 1)
            kl.append(F.kl_div(log_p, self.targets.teacher[i:i + 1], reduction="sum").item())
        return float(np.mean(kl))

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Top-1 on the validation videos at VAL_RATIO, trimmed and long apart; without
        labels agreement with the dense teacher's top-1 instead, and the KL from the teacher
        on the training videos."""
        self.model.sfc.eval()
        fitted = {} if self.labelled else {f"train_distill_r{self.eval_ratio}": self.train_distill()}
        if not self.val_videos:
            return fitted
        val_teacher = self.targets.val_teacher
        scores: dict[str, list[bool]] = {"val_trimmed": [], "val_long": []}
        for i, (v, (feats, used)) in enumerate(zip(self.val_videos, self.features.val, strict=True)):
            compressed, _ = self.model.sfc(feats[None].float(), used)
            # Without labels: agreement with the dense teacher's top-1 on the clip itself
            # (the long versions follow the clips, so i mod clips is the clip).
            want = v.label if self.labelled else int(val_teacher[i % len(val_teacher)])
            hit = int(self.model.backbone.forward_tail(compressed).argmax()) == want
            scores["val_long" if v.long else "val_trimmed"].append(hit)
        metric = "top1" if self.labelled else "teacher_agreement"
        return fitted | {f"{k}_{metric}_r{VAL_RATIO}": float(np.mean(s)) for k, s in scores.items() if s}
