"""PyTorch eager runtime (CPU or CUDA): model directories, and the reference every export
is checked against. The only runtime that imports torch."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from ..bundle import Bundle
from ..config import ModelConfig, reuse_mode
from ..errors import RuntimeUnavailableError
from ..model import SFCModel, load_model
from .base import Runtime, RuntimeInfo, WindowRunner
from .cpu_allocator import keep_freed_memory
from .torch_fusion import as_model_input, inference_copy
from .torch_head_reuse import HeadReuseRunner


def select_torch_device(device: str) -> torch.device:
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


_threads_lock = threading.Lock()
_threads_users = 0
_threads_saved = 0

SMALL_CALL_CPU_MS = 100.0
"""One model input whose pass takes less CPU than this on one thread is small work, run
on one intra-op thread (see SmallWorkThreads)."""
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # the user chose torch's thread count


class SmallWorkThreads:
    """Runs a model whose per-call work is small on one intra-op thread, on CPU.

    Why: torch's intra-op threads are OpenMP threads (libgomp) that split every operator
    statically and, after each one, spin for about 3 ms waiting for the next. A small
    model runs hundreds of short operators per call, so on a shared CPU (the live path's
    frame reader, any other process) a spinning or descheduled thread stalls every
    barrier. On this 2-core VM beside a matrix-multiply loop on both cores, the bundled
    model's `predict` took 745 ms per video on two threads and 37 ms on one (27 / 30 ms
    quiet), `watch` 71 ms per window (p90 768) against 29 (19 / 27 ms quiet:
    benchmarks/results/contention.md). Bounding the spin (GOMP_SPINCOUNT) or not spinning
    (OMP_WAIT_POLICY=PASSIVE) kept two threads no faster than one. A big model's
    operators are long enough for more threads (r2plus1d_18, per call: 1.1-1.7 s on two
    threads, 2.0 s on one).

    The work is measured, not guessed: the first call runs on one thread and its CPU
    time decides (the bundled model: 54 ms; r2plus1d_18: 2160 ms). Each call sets the
    count and restores the process's own afterwards (torch's count is process-wide).
    Big work runs on torch's count as it is (a batch job's one fewer included). Off when
    the user chose: the runtime's `threads`, or OMP_NUM_THREADS / MKL_NUM_THREADS."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.small: bool | None = None  # None until the first call has measured
        self.call_cpu_ms: float | None = None  # that call's CPU time on one thread

    @contextmanager
    def call(self, inputs: int = 1, decides: bool = True) -> Iterator[None]:
        """Around one call of the network on `inputs` model inputs; `decides`: its CPU time
        may decide (a pass of the whole model, not a part of one)."""
        if not self.enabled or self.small is False:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        start = time.thread_time()  # one thread: all of the call's work is this thread's
        try:
            yield
        finally:
            torch.set_num_threads(before)
        if decides and self.small is None:
            self.call_cpu_ms = (time.thread_time() - start) * 1000 / max(1, inputs)
            self.small = self.call_cpu_ms < SMALL_CALL_CPU_MS

    def describe(self) -> str:
        if not self.enabled:
            return "intra-op threads as set (the runtime's threads, or the environment)"
        if self.small is None:
            return "intra-op threads: decided by the first call's work"
        return (f"{'one intra-op thread' if self.small else 'all intra-op threads'}: one input is "
                f"{self.call_cpu_ms:.0f} ms of CPU ({'<' if self.small else '>='} {SMALL_CALL_CPU_MS:.0f})")


@contextmanager
def _one_thread_fewer(enabled: bool) -> Iterator[None]:
    """torch's intra-op threads minus one (at least one) while any batch job runs; the
    count is process-wide, so the first job in lowers it and the last one out restores it."""
    global _threads_users, _threads_saved
    if not enabled:
        yield
        return
    with _threads_lock:
        if _threads_users == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(max(1, _threads_saved - 1))
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_saved)


class TorchRuntime(Runtime):
    name = "torch"

    def __init__(self, model: SFCModel | str | os.PathLike, device: str = "auto", optimize: bool = True,
                 threads: int | None = None) -> None:
        """`model`: an SFCModel or a model directory. `optimize`: run an inference copy
        (BatchNorm folded, channels-last on CPU; see torch_fusion.py) instead of `model`
        itself; same outputs to float rounding, at the cost of a second set of weights in
        memory while `model` is kept. The copy runs the head in chunks of time where the
        backbone can (I3D's stem) and then, for a model directory, takes uint8 frames
        (`Runtime.uint8_input_spec`). On CPU it also keeps freed activation memory in the
        process (cpu_allocator.py). `threads`: torch's intra-op threads (process-wide); left
        out on CPU (and no OMP_NUM_THREADS / MKL_NUM_THREADS), a model whose per-call work is
        small runs on one thread, measured on its first call (SmallWorkThreads)."""
        if isinstance(model, Bundle):
            raise RuntimeUnavailableError(f"the torch runtime runs model directories; {model.directory} is an "
                                          f"exported bundle for {model.manifest.runtime} (drop --runtime torch)")
        spec = None  # the preprocessing the directory's model was saved with
        if not isinstance(model, SFCModel):
            model, config = load_model(model)
            spec = model.resolve(config).input_spec
        if threads:
            torch.set_num_threads(threads)
        self._threads_given = bool(threads)
        self.device = select_torch_device(device)
        self.small_work_threads = SmallWorkThreads(self.device.type == "cpu" and not threads and
                                        not any(os.environ.get(v) for v in THREAD_ENV))
        if optimize and self.device.type == "cpu":
            keep_freed_memory()
        self.model = model  # the network as given (trainable, original state-dict keys)
        # The copy normalises uint8 frames itself where the model's preprocessing is known.
        self.network = (inference_copy(model, self.device, input_spec=spec) if optimize
                        else model.to(self.device).eval())
        # uint8 in only where the head runs in chunks (it saves the float input there); elsewhere
        # preprocessing normalises, in the decode-ahead thread, with its faster lookup table.
        chunked = optimize and self.network.backbone.chunked_head is not None
        self.uint8_input_spec = spec if chunked else None
        self.head_stride = model.backbone.head_temporal_stride
        self.view_stride = model.backbone.temporal_stride
        self._input = (lambda x: as_model_input(x, self.device)) if optimize else (lambda x: x.to(self.device))
        self.channels_last_input = optimize and self.device.type == "cpu"  # as_model_input then copies nothing

    def fill_defaults(self, config: ModelConfig) -> ModelConfig:
        return self.model.resolve(config)

    def check_sfc(self, frames: int, ratio: int) -> None:
        self.model.kept_steps(frames, ratio)

    def check_views(self) -> None:
        """Dense views are offered: the whole backbone is here."""

    def run_sfc_many(self, inputs: Iterable[tuple[np.ndarray, int]]
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """One at a time, with one intra-op thread fewer while it runs (unless `threads`
        was given): batch jobs decode the next video in a thread meanwhile, and with every
        core busy in torch the two contend (70 Weizmann clips on 2 cores: 4.1-4.6 s with 2
        torch threads, 3.4 s with 1, against 3.8 s for a plain loop)."""
        with _one_thread_fewer(enabled=self.device.type == "cpu" and not self._threads_given):
            yield from super().run_sfc_many(inputs)

    @torch.inference_mode()
    def run_sfc(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray]:
        with self.small_work_threads.call():
            logits, kept = self.network(self._input(torch.from_numpy(frames)), ratio)
        return logits.float().cpu().numpy(), kept.cpu().numpy()

    @torch.inference_mode()
    def run_sfc_scored(self, frames: np.ndarray, ratio: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`run_sfc` plus the selection scores (1, T): the same pass, nothing computed twice."""
        with self.small_work_threads.call():
            logits, kept, scores = self.network.forward_scored(self._input(torch.from_numpy(frames)), ratio)
        return logits.float().cpu().numpy(), kept.cpu().numpy(), scores.float().cpu().numpy()

    @torch.inference_mode()
    def run_views(self, views: np.ndarray) -> np.ndarray:
        with self.small_work_threads.call(inputs=len(views)):
            logits = self.network.forward_views(self._input(torch.from_numpy(views)))
        return logits.float().cpu().numpy()

    def window_runner(self, frames: int, reuse: str | bool = "auto") -> WindowRunner:
        """Windows reuse the head features they share with the previous one, exactly
        (`torch_head_reuse.py`), unless `reuse` is "off"."""
        reuse = reuse_mode(reuse)
        if reuse == "off":
            return WindowRunner(self)
        return HeadReuseRunner(self, self.network, frames, reuse, threads=self.small_work_threads.call)

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, str(self.device), "fp32")


RUNTIME = TorchRuntime
