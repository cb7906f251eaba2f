"""`Recognizer`: video in, ranked labels and the moments SFC kept out.

Data flows one way: video -> sampled frames -> normalised tensor -> runtime ->
logits -> Prediction. The Recognizer owns sampling, preprocessing and reporting; a
runtime (PyTorch for a model directory, ONNX Runtime, OpenVINO, LiteRT or TensorRT
for a bundle) only maps tensors to logits and says what inputs it takes. Nothing here
imports torch: a bundle runs in a process that has none.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import Bundle, is_bundle
from ..config import InputSpec, ModelConfig, read_model_config
from ..defaults import default_model_dir
from ..errors import CheckpointError, ConfigError, SfcError
from ..formats import get_format
from ..runtimes import Runtime, create_runtime
from ..video.decode import VideoInput, sample_frames
from ..video.live import SourceOptions
from ..video.preprocess import dense_input, dense_plan
from ..video.sampling import WHOLE_VIDEO_MAX_FRAMES, Views
from .postprocess import decode_notes, kept_moments, ranked, softmax
from .prefetch import prefetched
from .results import Prediction
from .sfc_input import SfcInput, SfcRecipe
from .stream import WindowResult, stream_windows

MODES = ("sfc", "dense")
# Dense views per runtime call, by input size: all 30 views of the Weizmann model (72 MB)
# in one call, three of I3D's (38.5 MB each). All 30 I3D views at once peaked at 10 GB
# here and took 71 s; three at a time, 3.2 GB and 33 s (cricket GIF, 10x3).
DENSE_CALL_BYTES = 128 * 2**20


class Recognizer:
    """Recognise actions in videos with an SFC model.

        rec = Recognizer("my_model/")             # or Recognizer() for the bundled model
        pred = rec.predict("clip.mp4")            # SFC: one pass over the whole video
        pred.label, pred.score, pred.kept_times
        rec.predict("clip.mp4", mode="dense", views="10x3")   # the 30-view baseline
    """

    def __init__(self, model: str | Path | None = None, *, runtime: str | None = None, device: str = "auto",
                 view_batch: int | None = None, threads: int | None = None, digest: str | None = None) -> None:
        """`model`: a model directory, an exported bundle (directory or .tar.gz), or None
        for the bundled default model. `runtime`: for bundles, the adapter to use instead
        of the manifest's (with its fallbacks); for model directories, "torch" (the default).
        `threads`: the runtime's intra-op threads. `view_batch`: dense views per call (default: as
        many as fit `DENSE_CALL_BYTES` of input).
        `digest`: the bundle's digest as `convert` printed it (or its first 12+ hex
        characters): any other bundle is refused, so a fleet runs exactly what it deployed."""
        path = Path(model) if model is not None else default_model_dir()
        if model is None and not path.is_dir():
            raise CheckpointError("no default model is bundled with this install; pass a model directory")
        options: dict[str, Any] = {"device": device, **({"threads": threads} if threads else {})}
        if digest is not None and not is_bundle(path):
            raise ConfigError(f"{path}: a digest pins an exported bundle (from `sfc-sdk convert`); "
                              "this is a model directory")
        if is_bundle(path):
            bundle = Bundle.open(path, expect_digest=digest)
            m = bundle.manifest
            order = [runtime] if runtime else list(dict.fromkeys([m.runtime, *get_format(m.format).runtimes]))
            self._setup(m.model_config, create_runtime(order, bundle, **options), bundle.directory, view_batch)
        else:
            config = read_model_config(path)  # a malformed directory fails here, before any weights load
            self._setup(config, create_runtime(runtime or "torch", path, **options), path, view_batch)

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Recognizer:
        """A model directory or a bundle from `sfc-sdk convert`; same results API either way."""
        return cls(path, **kwargs)

    @classmethod
    def from_model(cls, net: Any, config: ModelConfig, *, runtime: str = "torch", device: str = "auto",
                   view_batch: int | None = None) -> Recognizer:
        """Wrap an in-memory SFCModel (e.g. straight after training)."""
        self = cls.__new__(cls)
        self._setup(config, create_runtime(runtime, net, device=device), None, view_batch)
        return self

    @classmethod
    def from_backbone(cls, name: str, weights: str | Path | None = None, labels: list[str] | None = None,
                      num_classes: int | None = None, split: str = "", **kwargs: Any) -> Recognizer:
        """A pretrained backbone (e.g. a torchvision checkpoint; its variant and classes read
        from the tensors) with an untrained SFC module, which selects uniformly spaced
        moments until it is trained."""
        from ..model import model_from_checkpoint  # the torch model layer, only on this path

        net, config = model_from_checkpoint(name, weights, labels=labels, num_classes=num_classes, split=split)
        return cls.from_model(net, config, **kwargs)

    def _setup(self, config: ModelConfig, runtime: Runtime, model_path: Path | None, view_batch: int | None) -> None:
        self.config = runtime.fill_defaults(config)  # e.g. a hand-written config that leaves `input` open
        self.runtime = runtime
        self.model_path = model_path  # where the model was loaded from (None: built in memory)
        self.input_spec: InputSpec = self.config.input_spec
        self.view_batch = view_batch

    @property
    def model(self) -> Any:
        """The PyTorch SFCModel when the runtime runs one in this process, else None."""
        return self.runtime.model

    @property
    def head_stride(self) -> int:
        """Input frames per head time step (a kept moment covers this many samples)."""
        return self.runtime.head_stride

    @property
    def default_ratio(self) -> int:
        return self.config.sfc.ratio

    @property
    def default_frames(self) -> int:
        return self.config.sfc.frames

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    @property
    def runtime_label(self) -> str:
        return self.runtime.info().label

    # --- prediction ---------------------------------------------------------
    def predict(self, video: VideoInput, top_k: int = 5, *, mode: str = "sfc", ratio: int | None = None,
                frames: int | None = None, views: str | Views | None = None, fps: float | None = None,
                short: str = "adapt", decode: str = "exact", video_stream: int | None = None) -> Prediction:
        """Classify one video: a path, a (T, H, W, 3) uint8 RGB array or a list of frames.

        mode="sfc": `frames` (default from the model) sampled uniformly over the whole
        video, compressed `ratio` times after the head. mode="dense": `views` clips x
        crops averaged (default "10x3"). Options of the other mode are refused, not
        ignored. `fps` gives time stamps for in-memory frames. `video_stream`: which video
        stream of a file with several (its container index; default: the one FFmpeg would
        pick; a prediction's notes say which was read). `short`: for a video
        shorter than `frames` x the model's training frame stride, "adapt" samples the input
        length (of those the runtime takes) whose stride is nearest the training stride and
        lowers the ratio so the same number of moments is kept (`SfcRecipe.plan`); "repeat"
        always samples `frames`, repeating frames if need be. `decode` (SFC): "exact" decodes every
        sampled frame; "reference" lets the decoder skip non-reference frames and take the
        nearest decoded frame, under half a sampling interval away (faster with B-frames).
        """
        _check_options(top_k, mode, ratio, frames, views, decode)
        if mode == "sfc":
            return self.run_prepared(self.sfc_recipe(ratio, frames, short, decode, video_stream).prepare(video, fps),
                                     top_k)
        views = Views.parse(views or "10x3") if not isinstance(views, Views) else views
        return self._predict_dense(video, top_k, views, fps, video_stream)

    def predict_batch(self, videos: Iterable[VideoInput], top_k: int = 5, progress: bool = False,
                      **kwargs: Any) -> list[Prediction]:
        """`predict` over many videos, in order; stops at the first error."""
        return list(self.iter_predict(videos, top_k, progress=progress, **kwargs))

    def iter_predict(self, videos: Iterable[VideoInput], top_k: int = 5, progress: bool = False,
                     errors: str = "raise", **kwargs: Any) -> Iterator[Prediction | SfcError]:
        """Like `predict_batch`, yielding each result in order as soon as it is ready.

        In SFC mode the next videos are decoded in a background thread while the runtime
        runs the current one, and the runtime may keep several in flight (OpenVINO's
        throughput mode); results and their order are those of `predict`. A prediction's
        "inference" time then includes its wait in the runtime's queue. `errors`: "raise"
        stops at the first video that fails; "yield" yields that video's SfcError in its
        place and goes on (a ConfigError, a bad option, is raised either way)."""
        if errors not in ("raise", "yield"):
            raise ConfigError(f"errors must be 'raise' or 'yield', got {errors!r}")
        items = list(videos)
        sfc = kwargs.get("mode", "sfc") == "sfc"
        results = self._iter_sfc(items, top_k, errors, **kwargs) if sfc else self._iter_each(items, top_k, errors,
                                                                                              **kwargs)
        if progress:  # counts results as they come out, not videos as they go in
            from tqdm import tqdm

            results = tqdm(results, total=len(items), desc="predict", unit="video")
        yield from results

    def _iter_each(self, items: list[VideoInput], top_k: int, errors: str, **kwargs: Any
                   ) -> Iterator[Prediction | SfcError]:
        for video in items:
            try:
                yield self.predict(video, top_k, **kwargs)
            except ConfigError:
                raise
            except SfcError as e:
                if errors == "raise":
                    raise
                yield e

    def _iter_sfc(self, items: list[VideoInput], top_k: int, errors: str, **kwargs: Any
                  ) -> Iterator[Prediction | SfcError]:
        recipe, fps = self._sfc_recipe(top_k, **kwargs)

        def prepare(video: VideoInput) -> SfcInput | SfcError:
            try:
                return recipe.prepare(video, fps)
            except ConfigError:
                raise
            except SfcError as e:
                if errors == "raise":
                    raise
                return e

        queue: deque[SfcInput | SfcError] = deque()  # in input order: what run_sfc_many has, or an error

        def inputs() -> Iterator[tuple[np.ndarray, int]]:
            for item in prefetched(items, prepare):
                queue.append(item)
                if isinstance(item, SfcInput):
                    item.submitted = time.perf_counter()
                    yield item.x, item.ratio

        for logits, kept, scores in self.runtime.run_sfc_many(inputs()):
            while isinstance(queue[0], SfcError):  # failed videos before this one, in their place
                yield queue.popleft()
            item = queue.popleft()
            assert isinstance(item, SfcInput)
            yield self._finish_sfc(item, logits, kept, scores, top_k, time.perf_counter())
        yield from queue  # failures after the last video that ran

    def stream(self, source: str | int | Path, *, window_s: float = 4.0, stride_s: float = 1.0, top_k: int = 5,
               ratio: int | None = None, reuse: bool | str = "auto", options: SourceOptions | None = None,
               max_windows: int | None = None) -> Iterator[WindowResult]:
        """Recognise live: a camera index (0), an RTSP/HTTP URL or a video file.

        Yields a `WindowResult` every `stride_s` seconds of stream time, for the last
        `window_s` seconds, SFC-compressed at the model's ratio. Stalls and disconnects
        are retried `options.reconnects` times, then raise `StreamStalledError` /
        `StreamDisconnectedError`; files end at their last frame. `reuse`: reuse the head
        features two windows share where the runtime can (PyTorch; exact, see
        `runtimes/torch_head_reuse.py`): True, False, or "auto" (time both on the first
        windows, keep the faster).
        """
        return stream_windows(self.runtime, self.config, source, window_s=window_s, stride_s=stride_s, top_k=top_k,
                              ratio=ratio, reuse=reuse, options=options, max_windows=max_windows)

    def sfc_recipe(self, ratio: int | None = None, frames: int | None = None, short: str = "adapt",
                   decode: str = "exact", video_stream: int | None = None) -> SfcRecipe:
        """How this model's SFC input is made (sampling, resizing, the shorter inputs its
        runtime takes): torch-free and picklable, so decoding can run elsewhere (`ray_job.py`).
        Predict, batch jobs, Ray and `profile` all make their input with it."""
        for name, value in (("ratio", ratio), ("frames", frames)):
            if value is not None and value < 1:  # 0 is not "the default"
                raise ConfigError(f"{name} must be at least 1, got {value}")
        ratio = self.default_ratio if ratio is None else ratio
        t_in = self.default_frames if frames is None else frames
        self.runtime.check_sfc(t_in, ratio)  # before decoding anything
        recipe = SfcRecipe(self.input_spec, t_in, ratio, self.head_stride, short, decode=decode,
                           channels_last=self.runtime.channels_last_input, video_stream=video_stream)
        unit = recipe.unit
        lengths = tuple(n for n in range(unit, t_in, unit) if unit and self.runtime.accepts(n, n // unit))
        return replace(recipe, short_lengths=lengths)

    def _sfc_recipe(self, top_k: int, *, ratio: int | None = None, frames: int | None = None,
                    fps: float | None = None, short: str = "adapt", decode: str = "exact", mode: str = "sfc",
                    views: str | Views | None = None, video_stream: int | None = None
                    ) -> tuple[SfcRecipe, float | None]:
        """`predict`'s SFC options checked, defaults filled: the recipe, and the rate for arrays."""
        _check_options(top_k, mode, ratio, frames, views, decode)
        return self.sfc_recipe(ratio, frames, short, decode, video_stream), fps

    def run_prepared(self, item: SfcInput, top_k: int = 5) -> Prediction:
        """The SFC pass on an input a recipe prepared (here or in another process)."""
        item.submitted = time.perf_counter()
        logits, kept, scores = self.runtime.run_sfc_scored(item.x, item.ratio)
        return self._finish_sfc(item, logits, kept, scores, top_k, time.perf_counter())

    def _finish_sfc(self, item: SfcInput, logits: np.ndarray, kept: np.ndarray, scores: np.ndarray | None,
                    top_k: int, done: float) -> Prediction:
        clip, ratio, stride, t_in = item.clip, item.ratio, self.head_stride, item.frames
        used = len(clip.indices)
        notes = decode_notes(clip)
        if used < t_in:
            notes.append(f"video has {clip.num_frames} frames: sampled {used} of them, about "
                         f"{clip.num_frames / used:.1f} apart as the model's training clips ("
                         f"{self.input_spec.frame_stride}), at ratio {ratio}")
        elif clip.num_frames < t_in:
            notes.append(f"video has {clip.num_frames} frames, fewer than the {t_in} SFC samples: frames repeat")
        spans = None
        if scores is not None:  # each head step's span of source frames, as a kept moment's
            steps = kept_moments(range(scores.shape[1]), stride, clip.indices)
            spans = [(m.first_frame, m.last_frame) for m in steps]
        timings = {**item.timings_ms, "inference": (done - item.submitted) * 1000}
        timings["total"] = timings["decode"] + timings["preprocess"] + timings["inference"]
        return Prediction(
            source=clip.source, top=ranked(softmax(logits[0]), self.labels, top_k), mode="sfc", ratio=ratio,
            views=None, kept=kept_moments(kept[0].tolist(), stride, clip.indices, fps=clip.fps),
            num_frames=clip.num_frames, fps=clip.fps, sampled_frames=used, padded=clip.num_frames < used,
            timings_ms=timings, runtime=self.runtime_label, notes=notes,
            scores=None if scores is None else [float(v) for v in scores[0]], score_spans=spans,
        )

    def _predict_dense(self, video: VideoInput, top_k: int, views: Views, fps: float | None,
                       video_stream: int | None = None) -> Prediction:
        self.runtime.check_views()  # before decoding anything
        spec = self.input_spec
        plan, short = dense_plan(spec, views, self.runtime.view_stride)
        start = time.perf_counter()
        clip = sample_frames(video, plan, short, fps, video_stream=video_stream)
        decoded = time.perf_counter()
        batch = dense_input(clip.frames, spec, views, self.runtime.channels_last_input)
        prepared = time.perf_counter()
        step = self.view_batch or max(1, DENSE_CALL_BYTES // batch[0].nbytes)
        logits = np.concatenate([self.runtime.run_views(batch[i:i + step]) for i in range(0, len(batch), step)])
        done = time.perf_counter()

        span = (spec.clip_len - 1) * spec.frame_stride + 1
        notes = decode_notes(clip)
        if clip.num_frames < span:
            notes.append(f"video has {clip.num_frames} frames, shorter than one {span}-frame clip: last frame repeats")
        elif views.whole and -(-clip.num_frames // spec.frame_stride) > WHOLE_VIDEO_MAX_FRAMES:
            notes.append(f"whole-video view: {len(clip.indices)} frames spread over the video's "
                         f"{clip.num_frames} (its limit is {WHOLE_VIDEO_MAX_FRAMES}), not every {spec.frame_stride}")
        probs = np.mean([softmax(row) for row in logits], axis=0)
        return Prediction(
            source=clip.source, top=ranked(probs, self.labels, top_k), mode="dense", ratio=None, views=str(views),
            kept=[], num_frames=clip.num_frames, fps=clip.fps, sampled_frames=len(clip.indices),
            padded=clip.num_frames < span, timings_ms=_timings(start, decoded, prepared, done),
            runtime=self.runtime_label, notes=notes,
        )

    def describe(self) -> dict:
        """Model and runtime facts, as `sfc-sdk info --model` prints them."""
        spec = self.input_spec
        return {
            "model": str(self.model_path) if self.model_path else "<in-memory>", "name": self.config.name,
            "backbone": self.config.backbone, "split": self.config.split or "(the backbone's default)",
            "classes": len(self.labels), "sfc_frames": self.default_frames, "sfc_ratio": self.default_ratio,
            "input": f"{spec.clip_len}x{spec.crop_size}x{spec.crop_size}", "runtime": self.runtime_label,
        }


def _check_options(top_k: int, mode: str, ratio: int | None, frames: int | None, views: str | Views | None,
                   decode: str) -> None:
    """Options that do not go with the mode are refused: silently ignoring them would run
    something other than what the caller asked for."""
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, got {top_k}")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "sfc" and views is not None:
        raise ConfigError("views go with dense mode (--mode dense); SFC makes one pass over the whole video")
    if mode == "dense":
        given = [name for name, value in (("ratio", ratio), ("frames", frames)) if value is not None]
        if given:
            verb = "goes" if len(given) == 1 else "go"
            raise ConfigError(f"{' and '.join(given)} {verb} with SFC mode; dense mode runs the views (--views)")
        if decode != "exact":  # dense clips are runs of neighbouring frames
            raise ConfigError(f"decode={decode!r} goes with SFC; dense views decode their frames exactly")


def _timings(start: float, decoded: float, prepared: float, done: float) -> dict[str, float]:
    ms = 1000.0
    return {"decode": (decoded - start) * ms, "preprocess": (prepared - decoded) * ms,
            "inference": (done - prepared) * ms, "total": (done - start) * ms}
