"""PyTorch eager runtime (CPU or CUDA): the reference every export is checked against."""

from __future__ import annotations

import numpy as np
import torch

from sfc_sdk.errors import RuntimeUnavailableError
from sfc_sdk.model import SFCModel

from .base import Runtime, RuntimeInfo
from .cpu_allocator import keep_freed_memory
from .registry import register_runtime
from .torch_fusion import as_model_input, inference_copy


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

    def __init__(self, model: SFCModel, device: str = "auto", optimize: bool = True) -> None:
        """`optimize`: run an inference copy (BatchNorm folded, channels-last on CPU;
        see torch_fusion.py) instead of `model` itself; same outputs to float rounding,
        at the cost of a second set of weights in memory while `model` is kept. On
        CPU it also keeps freed activation memory in the process (cpu_allocator.py)."""
        self.device = resolve_device(device)
        if optimize and self.device.type == "cpu":
            keep_freed_memory()
        self.model = inference_copy(model, self.device) if optimize else model.to(self.device).eval()
        self._input = (lambda x: as_model_input(x, self.device)) if optimize else (lambda x: x.to(self.device))

    @torch.inference_mode()
    def run_sfc(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
        logits, kept = self.model(self._input(torch.from_numpy(frames)), ratio)
        return logits.float().cpu().numpy(), kept.cpu().numpy()

    @torch.inference_mode()
    def run_views(self, views: np.ndarray) -> np.ndarray:
        return self.model.forward_views(self._input(torch.from_numpy(views))).float().cpu().numpy()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, str(self.device), "fp32")
