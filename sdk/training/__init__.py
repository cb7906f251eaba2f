"""Training: a backbone from scratch on short clips, then the SFC module alone.
Needs torch: without it, importing this package raises one MissingExtraError naming the extra."""

from .. import model  # noqa: F401  (first: the clear error when torch is missing)
from .backbone import train_backbone
from .loop import TrainSettings
from .sfc import train_sfc
from .sfc_options import SFCTrainOptions

__all__ = ["SFCTrainOptions", "TrainSettings", "train_backbone", "train_sfc"]
