"""The one narrow interface every inference backend implements.

A runtime turns preprocessed input into logits. It knows nothing about videos,
labels or sampling: that is the Recognizer's job, shared by every backend.

    frames (1, 3, T_in, H, W) float32 -> run_sfc   -> logits (1, classes), kept (1, K) int
    views  (V, 3, T,    H, W) float32 -> run_views -> logits (V, classes)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class RuntimeInfo:
    name: str  # registry name, e.g. "torch"
    device: str  # e.g. "cpu", "cuda:0"
    precision: str  # e.g. "fp32"


class Runtime(ABC):
    name: ClassVar[str]

    @abstractmethod
    def run_sfc(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
        """SFC single pass: logits and the kept head time positions (temporal order)."""

    @abstractmethod
    def run_views(self, views: np.ndarray) -> np.ndarray:
        """Dense inference: logits for each of V standard clips."""

    @abstractmethod
    def info(self) -> RuntimeInfo: ...

    def warmup(self, frames_shape: tuple[int, ...], ratio: int) -> None:
        """Run once on zeros so first-call costs (allocation, kernel selection) are paid."""
        self.run_sfc(np.zeros(frames_shape, np.float32), ratio)
