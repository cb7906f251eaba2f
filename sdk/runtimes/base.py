"""The one narrow interface every inference backend implements.

A runtime turns preprocessed input into logits. It knows nothing about videos,
labels or sampling: that is the Recognizer's job, shared by every backend. What a
runtime can run (input lengths and ratios, dense views, work reused across the
windows of a stream) it says itself, so callers ask it instead of checking which
backend they hold.

    frames (1, 3, T_in, H, W) float32 -> run_sfc        -> logits (1, classes), kept (1, K) int
    frames (1, 3, T_in, H, W) float32 -> run_sfc_scored -> the same, plus scores (1, T) float (or None)
    many (frames, ratio) pairs        -> run_sfc_many   -> run_sfc_scored's results, in input order
    views  (V, 3, T,    H, W) float32 -> run_views      -> logits (V, classes)

SFC frames are the normalised float32 input, or uint8 where the runtime says it normalises
them itself (`uint8_input_spec`); an exported runtime normalises uint8 frames it is given
otherwise as preprocessing does.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..bundle import Bundle
from ..config import InputSpec, ModelConfig
from ..errors import ConfigError, RuntimeUnavailableError
from ..video.transforms import normalize


@dataclass(frozen=True)
class RuntimeInfo:
    name: str  # registry name, e.g. "torch"
    device: str  # e.g. "cpu", "cuda:0"
    # What actually runs, which is not always the bundle's precision: a TensorRT fp16
    # bundle holds an FP32 ONNX graph, which ONNX Runtime runs in fp32 where TensorRT is missing.
    precision: str  # e.g. "fp32"
    graph: str = ""  # the file that runs (a bundle's model file, a TensorRT engine); "": a model in memory

    @property
    def label(self) -> str:
        """'name/device/precision', as predictions report it."""
        return f"{self.name}/{self.device}/{self.precision}"


class Runtime(ABC):
    name: ClassVar[str]
    head_stride: int  # input frames per head time step: how kept positions map back to frames
    view_stride: int = 1  # dense views: a clip's length must be a multiple of this (the whole network's stride)
    model: Any = None  # the framework's network when it runs in this process (PyTorch: the SFCModel)
    # Inputs are (3, T, H, W) arrays; True: this runtime runs fastest from a view of
    # (T, H, W, 3) memory (PyTorch's channels_last_3d on CPU), which preprocessing then
    # writes directly instead of the runtime copying into it.
    channels_last_input: bool = False
    # Set: `run_sfc` also takes the cropped frames as uint8 (1, 3, T, H, W), a view of the
    # decoded frames, and normalises them as this spec says (PyTorch on CPU: a chunk at a time
    # where the head runs in chunks, so the float input, 154 MB for 256 frames at 224 px, is
    # never held whole). Preprocessing sends uint8 only when the model's spec is this one.
    uint8_input_spec: InputSpec | None = None

    def fill_defaults(self, config: ModelConfig) -> ModelConfig:
        """`config` with what this runtime's network decides where the config leaves it open
        (the PyTorch runtime: the backbone's split point and input preprocessing)."""
        return config

    @abstractmethod
    def check_sfc(self, frames: int, ratio: int) -> None:
        """Raise ConfigError unless `run_sfc` takes `frames` input frames at `ratio`."""

    def accepts(self, frames: int, ratio: int) -> bool:
        try:
            self.check_sfc(frames, ratio)
        except ConfigError:
            return False
        return True

    @abstractmethod
    def run_sfc(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
        """SFC single pass: logits and the kept head time positions (temporal order)."""

    def run_sfc_scored(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """`run_sfc` plus the selection score of every head time step (1, T) float32, the
        scores the kept positions were chosen by (learned + prior), or None where this
        runtime cannot give them: this default, for exported bundles, whose graph has no
        scores output."""
        logits, kept = self.run_sfc(frames, ratio)
        return logits, kept, None

    def run_sfc_many(self, inputs: Iterable[tuple[np.ndarray, int]]
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """`run_sfc_scored` over many (frames, ratio) inputs, yielding results in input
        order and pulling inputs only as it can take them. Batch jobs call this: a runtime
        that keeps several inputs in flight (OpenVINO's AsyncInferQueue) overrides it; this
        one runs them one at a time."""
        for frames, ratio in inputs:
            yield self.run_sfc_scored(frames, ratio)

    def check_views(self) -> None:
        """Raise ConfigError unless `run_views` (dense inference) is offered."""
        raise ConfigError(f"the {self.name} runtime runs the SFC single pass only, not dense views")

    def run_views(self, views: np.ndarray) -> np.ndarray:
        """Dense inference: logits for each of V standard clips."""
        self.check_views()
        raise NotImplementedError

    @abstractmethod
    def info(self) -> RuntimeInfo: ...

    def window_runner(self, frames: int, reuse: str | bool = "auto") -> WindowRunner:
        """What runs the successive windows of a stream, each `frames` long. `reuse`: take
        work two windows share from the last one ("on", "off", or "auto": where it measures
        faster) where this runtime can; this one cannot and runs every window whole."""
        return WindowRunner(self)

    def time_sfc(self, frames: np.ndarray, ratio: int, runs: int, warmup: int = 5,
                 budget_s: float | None = None) -> list[float]:
        """Milliseconds of `runs` calls of `run_sfc` on `frames`, after `warmup` untimed ones
        (allocations, kernel selection, thread pools). With `budget_s`, stops early once
        three calls are timed and the budget is spent (an I3D call takes seconds)."""
        for _ in range(warmup):
            self.run_sfc(frames, ratio)
        times: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            self.run_sfc(frames, ratio)
            times.append((time.perf_counter() - start) * 1000)
            if budget_s is not None and len(times) >= 3 and sum(times) > budget_s * 1000:
                break
        return times


class WindowRunner:
    """Runs the SFC pass on the successive, overlapping windows of a stream. This one runs
    every window whole; a runtime that can reuse work across windows returns its own."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.reused = 0  # head time steps the last window took from the one before
        self.decision: str | None = None  # a status line once "auto" has chosen; the caller clears it

    def run(self, frames: np.ndarray, ratio: int, first_step: int) -> tuple[np.ndarray, np.ndarray]:
        """The window `frames` (1, 3, T, H, W), whose first sample is global head step
        `first_step` of the stream -> logits, kept positions (as `run_sfc`)."""
        return self.runtime.run_sfc(frames, ratio)

    def reset(self) -> None:
        """Forget what earlier windows left: the stream restarted after a gap."""


class ExportedRuntime(Runtime):
    """A runtime over an exported bundle: fixed input shapes, SFC only.

    Subclasses load `bundle.model_path` in `__init__` and implement `_run`. A bundle may
    hold shorter static inputs beside its main one (`Manifest.short_inputs`): each is run
    by a runtime of the same adapter and options on that input's model file, made on first
    use by `make_runtime`, the factory this runtime was made by (`registry.RuntimeFactory`;
    None: the main input only). Calls are serialised with a lock unless the
    backend says it is safe to call from many threads at once (`thread_safe`): an OpenVINO
    infer request, a LiteRT interpreter and a TensorRT execution context each hold one set
    of buffers.
    """

    thread_safe: ClassVar[bool] = False

    def __init__(self, bundle: Bundle, make_runtime: Callable[[Bundle], ExportedRuntime] | None = None) -> None:
        if not isinstance(bundle, Bundle):
            raise RuntimeUnavailableError(f"the {self.name} runtime runs exported bundles (sfc-sdk convert); "
                                          "use runtime='torch' for a model directory")
        self.bundle = bundle
        self.manifest = bundle.manifest
        self.head_stride = bundle.manifest.head_stride
        self._lock = threading.Lock()
        self.make_runtime = make_runtime
        self._short: dict[tuple[int, int], ExportedRuntime] = {}
        self._short_lock = threading.Lock()

    @abstractmethod
    def _run(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1, 3, T_in, H, W) float32 (or uint8 where `uint8_input_spec` is set) -> logits
        (1, classes) float32, kept (1, K) int."""

    def check_sfc(self, frames: int, ratio: int) -> None:
        m = self.manifest
        if m.for_input(frames, ratio) is None:
            also = "".join(f", {s.frames} at ratio {s.ratio}" for s in m.short_inputs)
            raise ConfigError(f"this bundle was exported for {m.frames} frames at ratio {m.ratio}{also}; "
                              f"asked for {frames} at ratio {ratio} (re-export with --frames/--ratio)")

    def check_views(self) -> None:
        raise ConfigError("an exported bundle holds the SFC single pass only; dense mode needs the "
                          "PyTorch model directory")

    def _runtime_for(self, frames: int, ratio: int) -> ExportedRuntime:
        """This runtime for the main input, else the one of a short input (made once)."""
        if (frames, ratio) == (self.manifest.frames, self.manifest.ratio):
            return self
        self.check_sfc(frames, ratio)
        with self._short_lock:  # threads sharing this runtime make each short one once
            if (frames, ratio) not in self._short:
                if self.make_runtime is None:
                    raise ConfigError(f"this {self.name} runtime was made for the main input only")
                bundle = Bundle(self.bundle.directory, self.manifest.for_input(frames, ratio))
                self._short[(frames, ratio)] = self.make_runtime(bundle)
            return self._short[(frames, ratio)]

    def _checked(self, frames: np.ndarray, ratio: int) -> tuple[ExportedRuntime, np.ndarray]:
        """The runtime of the input (main or short) that takes `frames` at `ratio`, and the
        frames as it wants them; a ConfigError naming what it takes otherwise."""
        runtime = self._runtime_for(frames.shape[2] if frames.ndim == 5 else self.manifest.frames, ratio)
        m = runtime.manifest
        if ratio != m.ratio:
            raise ConfigError(f"this bundle was exported for ratio {m.ratio}; re-export with --ratio {ratio}")
        expected = m.inputs[0].shape
        if tuple(frames.shape) != tuple(expected):
            raise ConfigError(f"this bundle takes input {tuple(expected)}, got {tuple(frames.shape)}")
        if frames.dtype == np.uint8:
            if runtime.uint8_input_spec is not None:  # its graph normalises them
                return runtime, np.ascontiguousarray(frames)
            # Normalised here, as preprocessing does (a uint8 input from a recipe made for
            # another runtime, e.g. a Ray worker's fallback): cast as they are, they would
            # give a wrong answer, silently.
            spec = m.model.input_spec
            return runtime, normalize(frames[0].transpose(1, 2, 3, 0), spec.mean, spec.std)[None]
        return runtime, np.ascontiguousarray(frames, dtype=np.float32)

    def run_sfc(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
        runtime, frames = self._checked(frames, ratio)
        if runtime is not self:
            return runtime.run_sfc(frames, ratio)
        if self.thread_safe:
            logits, kept = self._run(frames)
        else:
            with self._lock:
                logits, kept = self._run(frames)
        return np.asarray(logits, dtype=np.float32), np.asarray(kept).astype(np.int64)
