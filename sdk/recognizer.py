"""`Recognizer`: video in, ranked labels and the moments SFC kept out.

Data flows one way: video -> sampled frames -> normalised tensor -> runtime ->
logits -> Prediction. The Recognizer owns sampling and preprocessing; the runtime
(PyTorch now, exported bundles through the same interface) only maps tensors to logits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sfc_sdk.runtimes import Runtime, create_runtime

from .backbones import InputSpec, backbone_entry
from .bundle import Bundle, is_bundle
from .checkpoint import load_model
from .errors import CheckpointError, ConfigError
from .model import ModelConfig, SFCModel
from .results import KeptMoment, LabelScore, Prediction
from .sampling import Views, clip_indices, uniform_indices
from .transforms import center_crop, normalize, three_crops
from .video import Plan, SampledFrames, VideoInput, sample_frames

if TYPE_CHECKING:
    from .live_source import SourceOptions
    from .stream import WindowResult

MODES = ("sfc", "dense")
SHORT_VIDEO = ("adapt", "repeat")


def default_model_dir() -> Path:
    """The model bundled with the package (trained on Weizmann, see the README)."""
    return Path(__file__).parent / "assets" / "default_model"


class Recognizer:
    """Recognise actions in videos with an SFC model.

        rec = Recognizer("my_model/")             # or Recognizer() for the bundled model
        pred = rec.predict("clip.mp4")            # SFC: one pass over the whole video
        pred.label, pred.score, pred.kept_times
        rec.predict("clip.mp4", mode="dense", views="10x3")   # the 30-view baseline
    """

    def __init__(self, model: str | Path | None = None, *, runtime: str | None = None, device: str = "auto",
                 view_batch: int | None = None, threads: int | None = None) -> None:
        """`model`: a model directory, an exported bundle (directory or .tar.gz), or None
        for the bundled default model. `runtime`: for bundles, the adapter to use instead
        of the manifest's (with its fallbacks); for model directories, "torch"."""
        directory = Path(model) if model is not None else default_model_dir()
        if model is None and not directory.is_dir():
            raise CheckpointError("no default model is bundled with this install; pass a model directory")
        if is_bundle(directory):
            self._setup_bundle(Bundle.open(directory), runtime, device, threads)
            return
        net, config = load_model(directory)
        self._setup(net, config, runtime or "torch", device, view_batch, source=str(directory))

    @classmethod
    def load(cls, path: str | Path, **kwargs) -> Recognizer:
        """A model directory or a bundle from `sfc-sdk convert`; same results API either way."""
        return cls(path, **kwargs)

    @classmethod
    def from_model(cls, net: SFCModel, config: ModelConfig, *, runtime: str = "torch", device: str = "auto",
                   view_batch: int | None = None) -> Recognizer:
        """Wrap an in-memory model (e.g. straight after training)."""
        self = cls.__new__(cls)
        self._setup(net, config, runtime, device, view_batch, source="<in-memory>")
        return self

    @classmethod
    def from_backbone(cls, name: str, weights: str | Path | None = None, labels: list[str] | None = None,
                      num_classes: int | None = None, split: str = "", **kwargs) -> Recognizer:
        """A pretrained backbone (e.g. a torchvision checkpoint) with an untrained SFC
        module, which selects uniformly spaced moments until it is trained."""
        from .checkpoint import load_weights

        if labels is None:
            labels = [f"class_{i}" for i in range(num_classes or 400)]
        config = ModelConfig(backbone=name, labels=tuple(labels), split=split, name=name)
        net = SFCModel.from_config(config)
        if weights is not None:
            load_weights(net.backbone, weights)
        return cls.from_model(net, config, **kwargs)

    def _setup(self, net: SFCModel, config: ModelConfig, runtime: str, device: str, view_batch: int | None,
               source: str) -> None:
        self.config = config
        self.model: SFCModel | None = net
        self.bundle: Bundle | None = None
        self.source = source
        self.spec = config.input_spec
        self.view_batch = view_batch
        self.head_stride = net.backbone.head_temporal_stride
        self.runtime: Runtime = create_runtime(runtime, net, device=device)

    def _setup_bundle(self, bundle: Bundle, runtime: str | None, device: str, threads: int | None) -> None:
        from sfc_sdk.converters.formats import get_format

        m = bundle.manifest
        order = [runtime] if runtime else list(dict.fromkeys([m.runtime, *get_format(m.format).runtimes]))
        self.config = m.model
        self.model = None
        self.bundle = bundle
        self.source = str(bundle.directory)
        self.spec = m.model.input_spec
        self.view_batch = None
        self.head_stride = m.head_stride
        self.runtime = create_runtime(order, bundle, device=device, threads=threads)

    def _check_sfc(self, t_in: int, ratio: int) -> None:
        """Validate frames and ratio before decoding anything."""
        if self.bundle is not None:
            m = self.bundle.manifest
            if (t_in, ratio) != (m.frames, m.ratio):
                raise ConfigError(f"this bundle was exported for {m.frames} frames at ratio {m.ratio}; "
                                  f"asked for {t_in} at ratio {ratio} (re-export with --frames/--ratio)")
            return
        self.model.sfc.output_length(self.model.head_length(t_in), ratio)

    @property
    def default_ratio(self) -> int:
        return self.bundle.manifest.ratio if self.bundle else self.config.sfc.ratio

    @property
    def default_frames(self) -> int:
        return self.bundle.manifest.frames if self.bundle else self.config.sfc.frames

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    # --- prediction ---------------------------------------------------------
    def predict(self, video: VideoInput, top_k: int = 5, *, mode: str = "sfc", ratio: int | None = None,
                frames: int | None = None, views: str | Views = "10x3", fps: float | None = None,
                short: str = "adapt") -> Prediction:
        """Classify one video: a path, a (T, H, W, 3) uint8 RGB array or a list of frames.

        mode="sfc": `frames` (default from the model) sampled uniformly over the whole
        video, compressed `ratio` times after the head. mode="dense": `views` clips x
        crops averaged. `fps` gives time stamps for in-memory frames. `short`: for a video
        with fewer frames than `frames`, "adapt" samples each frame at most once and lowers
        the ratio so the same number of moments is kept; "repeat" repeats frames.
        """
        if top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {top_k}")
        if mode == "sfc":
            if short not in SHORT_VIDEO:
                raise ConfigError(f"short must be one of {', '.join(SHORT_VIDEO)}, got {short!r}")
            return self._predict_sfc(video, top_k, ratio or self.default_ratio, frames or self.default_frames, fps,
                                     short)
        if mode == "dense":
            return self._predict_dense(video, top_k, views if isinstance(views, Views) else Views.parse(views), fps)
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")

    def predict_batch(self, videos: Iterable[VideoInput], top_k: int = 5, progress: bool = False,
                      **kwargs) -> list[Prediction]:
        """`predict` over many videos, in order; stops at the first error."""
        return list(self.iter_predict(videos, top_k, progress=progress, **kwargs))

    def iter_predict(self, videos: Iterable[VideoInput], top_k: int = 5, progress: bool = False,
                     **kwargs) -> Iterator[Prediction]:
        """Like `predict_batch`, yielding each result as soon as it is ready."""
        items = list(videos)
        if progress:
            from tqdm import tqdm

            items = tqdm(items, desc="predict", unit="video")
        for video in items:
            yield self.predict(video, top_k, **kwargs)

    def stream(self, source: str | int | Path, *, window_s: float = 4.0, stride_s: float = 1.0, top_k: int = 5,
               ratio: int | None = None, reuse: bool | str = "auto", options: SourceOptions | None = None,
               max_windows: int | None = None) -> Iterator[WindowResult]:
        """Recognise live: a camera index (0), an RTSP/HTTP URL or a video file.

        Yields a `WindowResult` every `stride_s` seconds of stream time, for the last
        `window_s` seconds, SFC-compressed at the model's ratio. Stalls and disconnects
        are retried `options.reconnects` times, then raise `StreamStalledError` /
        `StreamDisconnectedError`; files end at their last frame. `reuse`: reuse the head
        features two windows share (PyTorch models; exact, see `head_cache.py`): True,
        False, or "auto" (time both on the first windows, keep the faster).
        """
        from .stream import stream_windows

        return stream_windows(self, source, window_s=window_s, stride_s=stride_s, top_k=top_k, ratio=ratio, reuse=reuse,
                              options=options, max_windows=max_windows)

    def _predict_sfc(self, video: VideoInput, top_k: int, ratio: int, t_in: int, fps: float | None,
                     short: str) -> Prediction:
        self._check_sfc(t_in, ratio)
        kept_count = t_in // self.head_stride // ratio
        unit = self.head_stride * kept_count  # input frames per step of the ratio at this kept count
        # A video shorter than t_in would repeat frames, which the head never saw in training
        # (it cost 19 points of top-1 on short Weizmann clips, see the README). "adapt" samples
        # the largest multiple of `unit` frames the video has, each once, and lowers the ratio
        # so the tail still gets `kept_count` steps. Bundles have one static shape: they repeat.
        adapt = short == "adapt" and self.bundle is None

        def plan(n: int) -> list[int]:
            return uniform_indices(n, (n // unit) * unit if adapt and unit <= n < t_in else t_in)

        start = time.perf_counter()
        clip = sample_frames(video, plan, self.spec.resize_size, fps)
        decoded = time.perf_counter()
        used = len(clip.indices)
        ratio = ratio if used == t_in else used // unit
        x = sfc_input(clip.frames, self.spec)
        prepared = time.perf_counter()
        logits, kept = self.runtime.run_sfc(x, ratio)
        done = time.perf_counter()

        stride = self.head_stride
        moments = [_moment(clip, clip.indices[p * stride:(p + 1) * stride]) for p in kept[0].tolist()]
        notes = _decode_notes(clip)
        if used < t_in:
            notes.append(f"video has {clip.num_frames} frames, fewer than the {t_in} SFC samples: sampled {used} "
                         f"frames once each at ratio {ratio}")
        elif clip.num_frames < t_in:
            notes.append(f"video has {clip.num_frames} frames, fewer than the {t_in} SFC samples: frames repeat")
        return Prediction(
            source=clip.source, top=self._top(_softmax(logits[0]), top_k), mode="sfc", ratio=ratio, views=None,
            kept=moments, num_frames=clip.num_frames, fps=clip.fps, sampled_frames=used,
            padded=clip.num_frames < used, timings_ms=_timings(start, decoded, prepared, done),
            runtime=self._runtime_name(), notes=notes,
        )

    def _predict_dense(self, video: VideoInput, top_k: int, views: Views, fps: float | None) -> Prediction:
        if self.bundle is not None:
            raise ConfigError("an exported bundle holds the SFC single pass only; dense mode needs the "
                              "PyTorch model directory")
        spec = self.spec
        plan, short = dense_plan(spec, views)
        start = time.perf_counter()
        clip = sample_frames(video, plan, short, fps)
        decoded = time.perf_counter()
        batch = dense_input(clip.frames, spec, views)
        prepared = time.perf_counter()
        step = self.view_batch or len(batch)
        logits = np.concatenate([self.runtime.run_views(batch[i:i + step]) for i in range(0, len(batch), step)])
        done = time.perf_counter()

        span = (spec.clip_len - 1) * spec.frame_stride + 1
        notes = _decode_notes(clip)
        if clip.num_frames < span:
            notes.append(f"video has {clip.num_frames} frames, shorter than one {span}-frame clip: last frame repeats")
        probs = np.mean([_softmax(row) for row in logits], axis=0)
        return Prediction(
            source=clip.source, top=self._top(probs, top_k), mode="dense", ratio=None, views=str(views), kept=[],
            num_frames=clip.num_frames, fps=clip.fps, sampled_frames=len(clip.indices),
            padded=clip.num_frames < span, timings_ms=_timings(start, decoded, prepared, done),
            runtime=self._runtime_name(), notes=notes,
        )

    def _top(self, probs: np.ndarray, k: int) -> list[LabelScore]:
        order = np.argsort(-probs, kind="stable")[:k]
        return [LabelScore(self.labels[i], float(probs[i]), int(i)) for i in order]

    def _runtime_name(self) -> str:
        info = self.runtime.info()
        return f"{info.name}/{info.device}/{info.precision}"

    def describe(self) -> dict:
        """Model and runtime facts, as `sfc-sdk info --model` prints them."""
        entry = backbone_entry(self.config.backbone)
        return {
            "model": self.source, "name": self.config.name, "backbone": entry.name,
            "split": self.model.backbone.split if self.model else self.config.split or entry.default_split,
            "classes": len(self.labels),
            "sfc_frames": self.default_frames, "sfc_ratio": self.default_ratio,
            "input": f"{self.spec.clip_len}x{self.spec.crop_size}x{self.spec.crop_size}",
            "runtime": self._runtime_name(),
        }


def sfc_input(frames: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Decoded frames (T, H, W, 3) uint8 -> the SFC network input (1, 3, T, crop, crop) float32."""
    return normalize(center_crop(frames, spec.crop_size), spec.mean, spec.std)[None]


def dense_plan(spec: InputSpec, views: Views) -> tuple[Plan, int]:
    """Frames dense sampling decodes (every clip's, in order) and the short side to resize to:
    3-crop testing resizes the short side to the crop size and tiles the long side."""
    def plan(n: int) -> list[int]:
        return [i for c in clip_indices(n, views.clips, spec.clip_len, spec.frame_stride) for i in c]

    return plan, spec.crop_size if views.crops == 3 else spec.resize_size


def dense_input(frames: np.ndarray, spec: InputSpec, views: Views) -> np.ndarray:
    """Frames of `dense_plan` -> the views batch (clips x crops, 3, clip_len, crop, crop) float32."""
    per_clip = frames.reshape(views.clips, spec.clip_len, *frames.shape[1:])
    return np.stack([normalize(crop, spec.mean, spec.std) for clip in per_clip
                     for crop in (three_crops(clip, spec.crop_size) if views.crops == 3
                                  else [center_crop(clip, spec.crop_size)])])


def _moment(clip: SampledFrames, span: list[int]) -> KeptMoment:
    centre = (span[0] + span[-1]) / 2
    return KeptMoment(frame=span[len(span) // 2], first_frame=span[0], last_frame=span[-1],
                      time_s=None if not clip.fps else round(centre / clip.fps, 3))


def _decode_notes(clip: SampledFrames) -> list[str]:
    """Say so when the container's frame count was wrong by more than a frame or two."""
    header = clip.header_frames
    if header and header > 0 and abs(header - clip.num_frames) > max(2, header // 50):
        return [f"the header claims {header} frames but {clip.num_frames} decode (truncated or damaged file?); "
                "sampled over the decoded frames"]
    return []


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _timings(start: float, decoded: float, prepared: float, done: float) -> dict[str, float]:
    ms = 1000.0
    return {"decode": (decoded - start) * ms, "preprocess": (prepared - decoded) * ms,
            "inference": (done - prepared) * ms, "total": (done - start) * ms}
