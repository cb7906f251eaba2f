"""OpenVINO: CPU, GPU, NPU (or AUTO) device names, IR or ONNX bundles.

Precision: OpenVINO picks bf16 by itself on CPUs that have it. A bundle says what it
wants: fp32 bundles set INFERENCE_PRECISION_HINT=f32 (exact parity with PyTorch),
bf16 bundles ask for bf16, int8 bundles leave the device's default. fp16 bundles compute
in f16 where the device lists FP16 among its capabilities and in f32 elsewhere, never in
the bf16 a CPU would choose: bf16 keeps 8 bits of mantissa to fp16's 11, and on this AMD
CPU it flipped 1 of 30 held-out answers of the 3D ShuffleNet model that f32 keeps.
"""

from __future__ import annotations

import numpy as np

from ..bundle import Bundle
from ..errors import RuntimeUnavailableError
from .base import ExportedRuntime, RuntimeInfo

HINTS = {"fp32": "f32", "bf16": "bf16"}


class OpenVINORuntime(ExportedRuntime):
    name = "openvino"

    def __init__(self, bundle: Bundle, device: str = "CPU", threads: int | None = None,
                 precision: str | None = None) -> None:
        super().__init__(bundle)
        import openvino as ov

        core = ov.Core()
        device = {"auto": "CPU", "cpu": "CPU", "gpu": "GPU", "npu": "NPU"}.get(device, device)
        if device != "AUTO" and device.split(".")[0] not in core.available_devices:
            raise RuntimeUnavailableError(f"OpenVINO device {device!r} not present "
                                          f"(available: {', '.join(core.available_devices)})")
        self.precision = precision or bundle.manifest.precision
        config = {}
        if self.precision in HINTS:
            config["INFERENCE_PRECISION_HINT"] = HINTS[self.precision]
        elif self.precision == "fp16" and device != "AUTO":
            caps = core.get_property(device, "OPTIMIZATION_CAPABILITIES")
            config["INFERENCE_PRECISION_HINT"] = "f16" if "FP16" in caps else "f32"
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            self.compiled = core.compile_model(str(bundle.model_path), device, config)
        except RuntimeError as e:
            raise RuntimeUnavailableError(f"OpenVINO could not compile the model for {device}: "
                                          f"{str(e).splitlines()[0]}") from None
        self.request = self.compiled.create_infer_request()
        self.device = device

    def _run(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.request.infer({0: frames})
        return out[self.compiled.outputs[0]], out[self.compiled.outputs[1]]

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, self.device, self.precision)


RUNTIME = OpenVINORuntime
