"""PyTorch eager runtime (CPU or CUDA): the reference every export is checked against."""

from __future__ import annotations

import numpy as np
import torch

from sfc_sdk.errors import RuntimeUnavailableError
from sfc_sdk.model import SFCModel

from .base import Runtime, RuntimeInfo
from .registry import register_runtime


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when usable, else CPU; 'cuda' without a usable GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise RuntimeUnavailableError(f"unknown torch device {device!r} (use cpu, cuda, cuda:N or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeUnavailableError(
            f"device {device!r} asked for, but torch {torch.__version__} sees no usable CUDA GPU"
        )
    if dev.type not in ("cpu", "cuda"):
        raise RuntimeUnavailableError(f"torch runtime runs on cpu or cuda, not {dev.type}")
    return dev


@register_runtime("torch", module="torch", extra="torch", description="PyTorch eager, CPU or CUDA")
class TorchRuntime(Runtime):
    name = "torch"

    def __init__(self, model: SFCModel, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()

    @torch.inference_mode()
    def run_sfc(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
        logits, kept = self.model(torch.from_numpy(frames).to(self.device), ratio)
        return logits.float().cpu().numpy(), kept.cpu().numpy()

    @torch.inference_mode()
    def run_views(self, views: np.ndarray) -> np.ndarray:
        return self.model.forward_views(torch.from_numpy(views).to(self.device)).float().cpu().numpy()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, str(self.device), "fp32")
