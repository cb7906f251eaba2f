"""The settings of SFC training beyond the loop's (`TrainSettings`): which ratios, which
targets, which training videos. One frozen object, checked when made, so a bad value is
one ConfigError before any model is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import DISTILL_MODES, SHORT_VIDEO
from ..errors import ConfigError


@dataclass(frozen=True)
class SFCTrainOptions:
    ratios: tuple[int, ...] | None = None  # None: those of 2, 4, 8 the network runs at its input length
    distill: str = "correct"  # teacher targets on: videos it gets right | all | none
    distill_weight: float = 1.0
    score_weight: float = 1.0  # the scores' loss: match where the frozen tail classifies best
    # The window informativeness is measured on: the compressed length at this ratio;
    # None: at the ratio drawn for the batch (the window the tail will actually see).
    score_window: int | None = 4
    score_temperature: float = 0.5
    teacher_views: str = "10x3"
    long_videos: bool = True  # also train on long versions of the training clips
    variants: int = 4  # cached augmented samplings per video
    seed_long: int = 1000  # seed of the long training videos (test videos use another)
    # Short clips: "repeat" samples every video at the model's input length (frames spread
    # closer, or repeated); "adapt" samples each as `predict` does at each trained ratio
    # (the stride rule, SfcRecipe.plan: a shorter input at a lower ratio).
    short: str = "adapt"

    def __post_init__(self) -> None:
        if self.distill not in DISTILL_MODES:
            raise ConfigError(f"distill must be one of {', '.join(DISTILL_MODES)}, got {self.distill!r}")
        if self.short not in SHORT_VIDEO:
            raise ConfigError(f"short must be one of {', '.join(SHORT_VIDEO)}, got {self.short!r}")
        if (self.ratios is not None and (not self.ratios or min(self.ratios) < 1)) or self.variants < 1:
            raise ConfigError("ratios must be positive and variants at least 1")
