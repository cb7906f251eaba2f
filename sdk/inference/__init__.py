"""Inference: `Recognizer` (predict, batch, stream) and the results it returns.

Video -> frames -> tensor (sfc_sdk.video) -> runtime (sfc_sdk.runtimes) -> logits ->
predictions (here). No torch unless the runtime is PyTorch.
"""

from .batch import BatchSummary, run_batch
from .recognizer import Recognizer
from .results import KeptMoment, LabelScore, Prediction
from .stream import WindowResult

__all__ = ["BatchSummary", "KeptMoment", "LabelScore", "Prediction", "Recognizer", "WindowResult", "run_batch"]
