"""Runtime adapters: one narrow interface (`Runtime`), many backends, chosen by name
with an ordered fallback (like ONNX Runtime's providers).

Importing this package registers every adapter; none imports its backend library
until it is used, so a missing optional runtime costs nothing until asked for.
"""

from . import onnxruntime_runtime, openvino_runtime, tensorrt_runtime, tflite_runtime  # noqa: F401  (register)
from .base import ExportedRuntime, Runtime, RuntimeInfo
from .registry import RuntimeEntry, create_runtime, list_runtimes, register_runtime
from .torch_runtime import TorchRuntime

__all__ = ["ExportedRuntime", "Runtime", "RuntimeEntry", "RuntimeInfo", "TorchRuntime", "create_runtime",
           "list_runtimes", "register_runtime"]
