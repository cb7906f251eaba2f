"""Runtime adapters: one narrow interface (`Runtime`), many backends, chosen by name
with an ordered fallback (like ONNX Runtime's providers).

Importing this package imports no backend: each adapter module (`torch_runtime.py`,
`onnxruntime_runtime.py`, ...) is imported when its runtime is created, so a process
that runs an OpenVINO bundle never imports torch.
"""

from ..formats import RuntimeSpec, list_runtimes
from .base import ExportedRuntime, Runtime, RuntimeInfo, WindowRunner
from .registry import create_runtime, runtime_class

__all__ = ["ExportedRuntime", "Runtime", "RuntimeInfo", "RuntimeSpec", "WindowRunner", "create_runtime",
           "list_runtimes", "runtime_class"]
