"""Training: a backbone from scratch on short clips, then the SFC module alone."""

from .backbone import train_backbone
from .loop import TrainSettings
from .sfc import SFCTrainOptions, train_sfc

__all__ = ["SFCTrainOptions", "TrainSettings", "train_backbone", "train_sfc"]
