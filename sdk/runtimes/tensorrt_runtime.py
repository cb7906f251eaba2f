"""TensorRT (NVIDIA GPUs, Jetson): builds an engine from the bundle's ONNX at first load.

Engines are specific to a GPU model and TensorRT version, so the engine file is
cached per bundle, GPU and version in the user cache (`engine_cache`), where it survives
restarts. `tensorrt` is imported lazily: on a
machine without it this adapter fails with a clear message and the registry falls
back to the next runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..bundle import Bundle
from ..errors import RuntimeUnavailableError
from ..formats import get_runtime
from .base import ExportedRuntime, RuntimeInfo
from .engine_cache import engine_path


def import_tensorrt():
    try:
        import tensorrt as trt  # pyright: ignore[reportMissingImports] - on NVIDIA machines only
    except ImportError:
        raise RuntimeUnavailableError("TensorRT needs an NVIDIA GPU and the tensorrt Python package: "
                                      + get_runtime("tensorrt").install_hint) from None
    import torch

    if not torch.cuda.is_available():
        raise RuntimeUnavailableError(f"tensorrt {trt.__version__} is installed but torch sees no CUDA GPU")
    return trt


def build_engine(trt, onnx_path: Path, fp16: bool) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeUnavailableError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeUnavailableError("TensorRT failed to build an engine (see its log above)")
    return bytes(serialized)


class TensorRTRuntime(ExportedRuntime):
    name = "tensorrt"

    def __init__(self, bundle: Bundle, device: str = "cuda", threads: int | None = None,
                 make_runtime: Callable[[Bundle], ExportedRuntime] | None = None) -> None:
        super().__init__(bundle, make_runtime)
        trt = import_tensorrt()
        import torch

        self.torch = torch
        self.device = torch.device("cuda" if device in ("auto", "cuda") else device)
        gpu = torch.cuda.get_device_name(self.device)
        path = engine_path(bundle, trt.__version__, gpu)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".partial")
            tmp.write_bytes(build_engine(trt, bundle.model_path, bundle.manifest.precision == "fp16"))
            tmp.replace(path)  # atomic: a killed build never leaves a half engine behind
        self.engine_file = path
        logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(logger).deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise RuntimeUnavailableError(f"{path}: engine does not load (built by another TensorRT?); delete it")
        self.context = self.engine.create_execution_context()
        self.buffers: dict[str, torch.Tensor] = {}
        self.inputs, self.outputs = [], []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            dtype = torch.from_numpy(np.empty(0, trt.nptype(self.engine.get_tensor_dtype(name)))).dtype
            buf = torch.empty(tuple(self.engine.get_tensor_shape(name)), dtype=dtype, device=self.device)
            self.buffers[name] = buf
            self.context.set_tensor_address(name, buf.data_ptr())
            is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self.inputs if is_input else self.outputs).append(name)

    def _run(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        self.buffers[self.inputs[0]].copy_(torch.from_numpy(frames))
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeUnavailableError("TensorRT execution failed")
        stream.synchronize()
        out = {name: self.buffers[name].cpu().numpy() for name in self.outputs}
        logits = next(v for v in out.values() if v.dtype.kind == "f")
        kept = next(v for v in out.values() if v.dtype.kind in "iu")
        return logits.astype(np.float32), kept

    def info(self) -> RuntimeInfo:
        # The engine is built with the FP16 flag for an fp16 bundle (`build_engine`), else in FP32.
        return RuntimeInfo(self.name, str(self.device), "fp16" if self.manifest.precision == "fp16" else "fp32",
                           str(self.engine_file))


RUNTIME = TensorRTRuntime
