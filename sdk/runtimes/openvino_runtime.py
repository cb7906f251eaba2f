"""OpenVINO: CPU, GPU, NPU (or AUTO) device names, IR or ONNX bundles.

Precision: OpenVINO picks bf16 by itself on CPUs that have it. A bundle says what it
wants: fp32 bundles set INFERENCE_PRECISION_HINT=f32 (exact parity with PyTorch),
bf16 bundles ask for bf16, int8 bundles leave the device's default. fp16 bundles compute
in f16 where the device lists FP16 among its capabilities and in f32 elsewhere, never in
the bf16 a CPU would choose: bf16 keeps 8 bits of mantissa to fp16's 11, and on this AMD
CPU it flipped 1 of 30 held-out answers of the 3D ShuffleNet model that f32 keeps.

Frames come in as float32, or, where the bundle asks for f32, as the uint8 crop
(`Runtime.uint8_input_spec`: what `predict` sends), which a compile of the graph normalises
itself (OpenVINO's PrePostProcessor, as the bundle's preprocessing says): no float copy of
the input is made in Python (154 MB for 256 frames at 224 px). That compile is made with the runtime, the others
on first use.

One video at a time (`run_sfc`) runs the model compiled for latency. Batch jobs
(`run_sfc_many`) keep several videos in flight in an AsyncInferQueue over a compile
with the THROUGHPUT hint (OpenVINO's streams: parallel requests that each take
part of the cores), made on first use. Compiled models are cached in the user cache
(`CACHE_DIR`: `~/.cache/sfc-sdk/openvino`), so later processes skip most of the compile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..bundle import Bundle
from ..config import InputSpec
from ..defaults import cache_dir
from ..errors import RuntimeUnavailableError
from .base import ExportedRuntime, RuntimeInfo

HINTS = {"fp32": "f32", "bf16": "bf16"}
STALL_S = 300.0  # an inference this long overdue has failed: an error, never a wait forever


class OpenVINORuntime(ExportedRuntime):
    name = "openvino"

    def __init__(self, bundle: Bundle, device: str = "CPU", threads: int | None = None,
                 precision: str | None = None,
                 make_runtime: Callable[[Bundle], ExportedRuntime] | None = None, uint8_input: bool = True) -> None:
        """`uint8_input`: also take uint8 frames (and compile for them first) where the bundle
        asks for f32; False: float32 only."""
        super().__init__(bundle, make_runtime)
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
        config["CACHE_DIR"] = str(cache_dir() / "openvino")
        self.core, self.config, self.device = core, config, device
        # uint8 in only where the graph runs in f32: in bf16 the normalisation's own rounding
        # took the bf16 bundle's centred-logit cosine with PyTorch from above 0.98 to 0.93.
        uint8_input = uint8_input and config.get("INFERENCE_PRECISION_HINT") == "f32"
        self.uint8_input_spec = bundle.manifest.model.input_spec if uint8_input else None
        # (input is uint8, performance hint) -> compiled model; the latency ones' infer requests
        self._compiled: dict[tuple[bool, str], Any] = {}
        self._requests: dict[bool, Any] = {}
        self._compile_lock = threading.Lock()
        # What `predict` runs, compiled now: it fails here, not at the first video, and its
        # compile's transient memory is not a video's.
        self._compiled_model(uint8=uint8_input, hint="LATENCY")

    def _compiled_model(self, uint8: bool, hint: str) -> Any:
        """The graph compiled for `hint` (LATENCY or THROUGHPUT), taking uint8 frames that it
        normalises itself or float32 ones; once each (threads may ask together)."""
        with self._compile_lock:
            if (uint8, hint) not in self._compiled:
                # Float: from the file, so a cached compile is read without the model.
                model = str(self.bundle.model_path)
                if uint8:
                    model = _normalising(self.core.read_model(model), self.uint8_input_spec)
                try:
                    compiled = self.core.compile_model(model, self.device, {**self.config, "PERFORMANCE_HINT": hint})
                except RuntimeError as e:
                    raise RuntimeUnavailableError(f"OpenVINO could not compile the model for {self.device}: "
                                                  f"{str(e).splitlines()[0]}") from None
                self._compiled[(uint8, hint)] = compiled
                if hint == "LATENCY":
                    self._requests[uint8] = compiled.create_infer_request()
            return self._compiled[(uint8, hint)]

    def _run(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        uint8 = frames.dtype == np.uint8
        compiled = self._compiled_model(uint8, "LATENCY")
        out = self._requests[uint8].infer({0: frames})
        return out[compiled.outputs[0]], out[compiled.outputs[1]]

    def run_sfc_many(self, inputs: Iterable[tuple[np.ndarray, int]]
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """Inputs go to the AsyncInferQueue of their input length as a request is free
        (`start_async` waits for one, so at most that many are held); results come back
        in input order."""
        import openvino as ov

        finished: dict[int, Any] = {}  # input index -> its outputs, or the exception that replaced them
        ready = threading.Condition()

        def on_done(request: Any, index: int) -> None:
            try:
                out: Any = (request.get_output_tensor(0).data.astype(np.float32),  # copies: the request is reused
                            request.get_output_tensor(1).data.astype(np.int64), None)
            except Exception as e:  # noqa: BLE001 - handed to the caller, at this input's turn
                out = RuntimeUnavailableError(f"OpenVINO inference failed: {e}")
            with ready:
                finished[index] = out
                ready.notify_all()

        def take(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
            out = finished.pop(index)
            if isinstance(out, Exception):
                raise out
            return out

        # One queue per input length and dtype per call: concurrent batch jobs share the compiled
        # models (thread-safe) but never a queue's callback.
        queues: dict[tuple[int, bool], Any] = {}
        submitted = yielded = 0
        try:
            for frames, ratio in inputs:
                runtime, frames = self._checked(frames, ratio)
                assert isinstance(runtime, OpenVINORuntime)
                key = (id(runtime), frames.dtype == np.uint8)
                if key not in queues:
                    compiled = runtime._compiled_model(frames.dtype == np.uint8, "THROUGHPUT")
                    queue = ov.AsyncInferQueue(compiled, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
                    queue.set_callback(on_done)
                    queues[key] = queue
                _wait_idle(queues[key])
                queues[key].start_async({0: frames}, submitted)
                submitted += 1
                with ready:  # the finished results next in order go out now; the rest wait their turn
                    ready_now = []
                    while yielded + len(ready_now) in finished:
                        ready_now.append(take(yielded + len(ready_now)))
                for out in ready_now:
                    yield out
                    yielded += 1
            while yielded < submitted:
                with ready:
                    if not ready.wait_for(lambda i=yielded: i in finished, timeout=STALL_S):
                        raise RuntimeUnavailableError(f"OpenVINO returned no result in {STALL_S:.0f} s")
                    out = take(yielded)
                yield out
                yielded += 1
        finally:
            # Every request idle and every callback returned before the queues go: a queue
            # destroyed under a running callback left the next one waiting forever here.
            for queue in queues.values():
                queue.wait_all()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, self.device, self.precision, self.manifest.model_file)


def _normalising(model: Any, spec: InputSpec) -> Any:
    """`model` taking (1, 3, T, H, W) uint8 frames and standardising them first, as
    `video.transforms.normalize` does ((x / 255 - mean) / std; float rounding aside)."""
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(model)
    ppp.input(0).tensor().set_element_type(ov.Type.u8)
    ppp.input(0).model().set_layout(ov.Layout("NCDHW"))
    ppp.input(0).preprocess().convert_element_type(ov.Type.f32).scale(255.0).mean(list(spec.mean)).scale(
        list(spec.std))
    return ppp.build()


def _wait_idle(queue: Any) -> None:
    """Until one of `queue`'s requests is free (`start_async` would wait without limit)."""
    deadline = time.monotonic() + STALL_S
    while not queue.is_ready():
        if time.monotonic() > deadline:
            raise RuntimeUnavailableError(f"OpenVINO returned no result in {STALL_S:.0f} s")
        time.sleep(0.0005)


RUNTIME = OpenVINORuntime
