"""TFLite (LiteRT): ai-edge-litert's Interpreter, else tflite-runtime's (needs numpy<2).

Outputs are matched by shape and dtype, not by position: the converter names them
`output_0`, `output_1` but does not promise their order.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

import numpy as np

from ..bundle import Bundle
from ..errors import RuntimeUnavailableError
from ..formats import get_runtime
from ..logs import native_stderr_quiet
from .base import ExportedRuntime, RuntimeInfo

INTERPRETERS = ("ai_edge_litert.interpreter", "tflite_runtime.interpreter")


def load_interpreter_class():
    reasons = []
    for name in INTERPRETERS:
        try:
            return importlib.import_module(name).Interpreter
        except ImportError as e:
            reasons.append(f"{name}: {e}")
    raise RuntimeUnavailableError(f"no LiteRT interpreter ({'; '.join(reasons)}): {get_runtime('tflite').install_hint}")


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class TFLiteRuntime(ExportedRuntime):
    name = "tflite"

    def __init__(self, bundle: Bundle, device: str = "cpu", threads: int | None = None,
                 make_runtime: Callable[[Bundle], ExportedRuntime] | None = None) -> None:
        super().__init__(bundle, make_runtime)
        if device not in ("cpu", "auto"):
            raise RuntimeUnavailableError(f"the tflite runtime runs on the CPU, not {device!r}")
        # The interpreter's own default (num_threads=None) runs XNNPACK on one thread.
        self.threads = threads or usable_cores()
        with native_stderr_quiet():  # LiteRT's C++ "INFO: Created ... XNNPACK delegate" line, unless -v
            try:
                self.interpreter = load_interpreter_class()(model_path=str(bundle.model_path),
                                                            num_threads=self.threads)
                self.interpreter.allocate_tensors()
            except ValueError as e:  # an op this LiteRT cannot run (e.g. a sort the converter emitted)
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise RuntimeUnavailableError(f"LiteRT cannot run {bundle.model_path.name}: {first}") from None
        self._input = self.interpreter.get_input_details()[0]["index"]
        outputs = self.interpreter.get_output_details()
        self._logits = next(o["index"] for o in outputs if o["dtype"] == np.float32)
        self._kept = next(o["index"] for o in outputs if np.issubdtype(o["dtype"], np.integer))

    def _run(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.interpreter.set_tensor(self._input, frames)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._logits).copy(), self.interpreter.get_tensor(self._kept).copy()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, "cpu", self.manifest.precision, self.manifest.model_file)


RUNTIME = TFLiteRuntime
