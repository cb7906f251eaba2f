"""ONNX Runtime: CPU, and CUDA or TensorRT execution providers when they really work.

onnxruntime-gpu quietly falls back to the CPU when CUDA libraries are missing; asking
for `device="cuda"` therefore checks the providers the session actually got.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..bundle import Bundle
from ..errors import RuntimeUnavailableError
from .base import ExportedRuntime, RuntimeInfo
from .engine_cache import ort_tensorrt_options

PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}
ARENA_MAX_INPUT_BYTES = 64 << 20  # inputs above this run without ONNX Runtime's CPU memory arena


class OnnxRuntime(ExportedRuntime):
    name = "onnxruntime"
    thread_safe = True  # InferenceSession.run may be called from many threads

    def __init__(self, bundle: Bundle, device: str = "cpu", threads: int | None = None,
                 make_runtime: Callable[[Bundle], ExportedRuntime] | None = None) -> None:
        super().__init__(bundle, make_runtime)
        import onnxruntime as ort

        device = "cpu" if device == "auto" else device
        if device not in PROVIDERS:
            raise RuntimeUnavailableError(f"onnxruntime device must be one of {', '.join(PROVIDERS)}, not {device!r}")
        wanted = PROVIDERS[device]
        if wanted[0] not in ort.get_available_providers():
            raise RuntimeUnavailableError(f"{wanted[0]} is not in this onnxruntime build "
                                          f"(available: {', '.join(ort.get_available_providers())})")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # ONNX Runtime's intra-op threads spin after each run, waiting for the next; the SDK
        # decodes the next video in between, and the spinning took its cores: the bundled
        # model's Weizmann clips decoded in 17.5 ms instead of 9.3, 31 ms a video against 20.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        # The CPU arena keeps the largest activations of a run for the next one: 4% faster
        # for the bundled model (22.4 vs 23.3 ms), but for 256-frame I3D (a 154 MB input) it
        # held 1 GB more (2.15 vs 1.13 GB peak) at the same speed (5.9 s a call).
        options.enable_cpu_mem_arena = math.prod(bundle.manifest.inputs[0].shape) * 4 < ARENA_MAX_INPUT_BYTES
        providers: list = list(wanted)
        if wanted[0] == "TensorrtExecutionProvider":  # engines cached per user, not rebuilt per process
            providers[0] = (wanted[0], ort_tensorrt_options(bundle))
        self.session = ort.InferenceSession(str(bundle.model_path), options, providers=providers)
        if self.session.get_providers()[0] != wanted[0]:
            raise RuntimeUnavailableError(f"{wanted[0]} failed to initialise (missing CUDA/cuDNN libraries?); "
                                          "onnxruntime would silently run on the CPU")
        self.device = device
        self.precision = _precision(bundle, self.session.get_providers()[0])
        self._input = self.session.get_inputs()[0].name

    def _run(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, kept = self.session.run(None, {self._input: frames})
        return logits, kept

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, self.device, self.precision, self.manifest.model_file)


def _precision(bundle: Bundle, provider: str) -> str:
    """The precision this session computes in. A TensorRT bundle's ONNX holds FP32 weights
    (its precision is the engine's, which TensorRT builds from it): fp32 here, unless ONNX
    Runtime's own TensorRT provider builds that engine (`trt_fp16_enable`). An ONNX bundle's
    graph is stored at the bundle's precision."""
    m = bundle.manifest
    if provider == "TensorrtExecutionProvider":
        return "fp16" if m.precision == "fp16" else "fp32"
    return "fp32" if m.format == "tensorrt" else m.precision


RUNTIME = OnnxRuntime
