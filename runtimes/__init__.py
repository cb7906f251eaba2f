"""Runtime adapters: one narrow interface (`Runtime`), many backends, chosen by name
with an ordered fallback. PyTorch ships now; ONNX Runtime, OpenVINO, TFLite and
TensorRT adapters implement the same interface on exported bundles."""

from .base import Runtime, RuntimeInfo
from .registry import RuntimeEntry, create_runtime, list_runtimes, register_runtime
from .torch_runtime import TorchRuntime

__all__ = ["Runtime", "RuntimeEntry", "RuntimeInfo", "TorchRuntime", "create_runtime", "list_runtimes",
           "register_runtime"]
