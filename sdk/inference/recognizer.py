"""`Recognizer`: video in, ranked labels and the moments SFC kept out.

Data flows one way: video -> sampled frames -> normalised tensor -> runtime ->
logits -> Prediction. The Recognizer is the facade: it loads a model onto a runtime
(PyTorch for a model directory, ONNX Runtime, OpenVINO, LiteRT or TensorRT for a
bundle), checks the options a caller gives and hands the work to a pipeline: the SFC
pass (`sfc.py`), dense views (`dense.py`) or live windows (`stream.py`). A runtime
only maps tensors to logits and says what inputs it takes. Nothing here imports
torch: a bundle runs in a process that has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..bundle import Bundle, is_bundle
from ..config import MODES, InputSpec, ModelConfig, read_model_config
from ..defaults import default_model_dir
from ..errors import CheckpointError, ConfigError, SfcError
from ..runtimes import Runtime, create_runtime
from ..runtimes.registry import runtime_order
from ..video.decode import VideoInput
from ..video.live import SourceOptions
from ..video.sampling import Views
from .dense import predict_dense
from .results import Prediction
from .sfc import iter_sfc, run_sfc, sfc_recipe
from .sfc_input import SfcInput, SfcRecipe
from .stream import WindowResult, stream_windows


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
        many as fit `dense.DENSE_CALL_BYTES` of input).
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
            made = create_runtime(runtime_order(bundle, runtime), bundle, **options)
            self._setup(bundle.manifest.model_config, made, bundle.directory, view_batch)
        else:
            config = read_model_config(path)  # a malformed directory fails here, before any weights load
            self._setup(config, create_runtime(runtime_order(path, runtime), path, **options), path, view_batch)

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Recognizer:
        """A model directory or a bundle from `sfc-sdk convert`; same results API either way."""
        return cls(path, **kwargs)

    @classmethod
    def from_model(cls, net: Any, config: ModelConfig, *, runtime: str = "torch", device: str = "auto",
                   view_batch: int | None = None) -> Recognizer:
        """Wrap an in-memory SFCModel (e.g. straight after training)."""
        self = cls.__new__(cls)
        self._setup(config, create_runtime(runtime_order(net, runtime), net, device=device), None, view_batch)
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
            item = self.sfc_recipe(ratio, frames, short, decode, video_stream).prepare(video, fps)
            return self.run_prepared(item, top_k)
        views = Views.parse(views or "10x3") if not isinstance(views, Views) else views
        return predict_dense(self.runtime, self.config, video, top_k, views, fps, video_stream, self.view_batch)

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
        if kwargs.get("mode", "sfc") == "sfc":
            recipe, fps = self._sfc_recipe(top_k, **kwargs)
            results = iter_sfc(self.runtime, self.config, recipe, items, fps, top_k, errors)
        else:
            results = self._iter_each(items, top_k, errors, **kwargs)
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

    def stream(self, source: str | int | Path, *, window_s: float = 4.0, stride_s: float = 1.0, top_k: int = 5,
               ratio: int | None = None, reuse: str | bool = "auto", options: SourceOptions | None = None,
               max_windows: int | None = None) -> Iterator[WindowResult]:
        """Recognise live: a camera index (0), an RTSP/HTTP URL or a video file.

        Yields a `WindowResult` every `stride_s` seconds of stream time, for the last
        `window_s` seconds, SFC-compressed at the model's ratio. Stalls and disconnects
        are retried `options.reconnects` times, then raise `StreamStalledError` /
        `StreamDisconnectedError`; files end at their last frame. `reuse`: reuse the head
        features two windows share where the runtime can (PyTorch; exact, see
        `runtimes/torch_head_reuse.py`): "on", "off", or "auto" (time both on the first
        windows, keep the faster; True / False read as on / off).
        """
        return stream_windows(self.runtime, self.config, source, window_s=window_s, stride_s=stride_s, top_k=top_k,
                              ratio=ratio, reuse=reuse, options=options, max_windows=max_windows)

    def sfc_recipe(self, ratio: int | None = None, frames: int | None = None, short: str = "adapt",
                   decode: str = "exact", video_stream: int | None = None) -> SfcRecipe:
        """How this model's SFC input is made (sampling, resizing, the shorter inputs its
        runtime takes): torch-free and picklable, so decoding can run elsewhere (`ray_job.py`).
        Predict, batch jobs, Ray and `profile` all make their input with it."""
        return sfc_recipe(self.runtime, self.config, ratio, frames, short, decode, video_stream)

    def _sfc_recipe(self, top_k: int, *, ratio: int | None = None, frames: int | None = None,
                    fps: float | None = None, short: str = "adapt", decode: str = "exact", mode: str = "sfc",
                    views: str | Views | None = None, video_stream: int | None = None
                    ) -> tuple[SfcRecipe, float | None]:
        """`predict`'s SFC options checked, defaults filled: the recipe, and the rate for arrays."""
        _check_options(top_k, mode, ratio, frames, views, decode)
        return self.sfc_recipe(ratio, frames, short, decode, video_stream), fps

    def run_prepared(self, item: SfcInput, top_k: int = 5) -> Prediction:
        """The SFC pass on an input a recipe prepared (here or in another process)."""
        return run_sfc(self.runtime, self.config, item, top_k)

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

