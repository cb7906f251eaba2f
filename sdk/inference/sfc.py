"""The SFC single pass: video -> one input over the whole video -> runtime -> Prediction.

`Recognizer.predict` (mode="sfc"), its batch entry points and Ray workers run here. The
input is made by an `SfcRecipe` (`sfc_input.py`), possibly in another process; the pass
itself needs only the runtime and the model's config. Many videos go through
`iter_sfc`, which decodes ahead in a thread while the runtime runs (`prefetch.py`) and
lets the runtime keep several inputs in flight (`Runtime.run_sfc_many`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from ..config import ModelConfig
from ..errors import ConfigError, SfcError
from ..runtimes import Runtime
from ..video.decode import VideoInput
from .postprocess import decode_notes, kept_moments, make_prediction
from .prefetch import prefetched
from .results import Prediction
from .sfc_input import SfcInput, SfcRecipe


def sfc_recipe(runtime: Runtime, config: ModelConfig, ratio: int | None = None, frames: int | None = None,
               short: str = "adapt", decode: str = "exact", video_stream: int | None = None) -> SfcRecipe:
    """The recipe for `runtime` running the model of `config` (see `Recognizer.sfc_recipe`):
    None takes the model's SFC frames and ratio; the shorter inputs are those the runtime takes."""
    for name, value in (("ratio", ratio), ("frames", frames)):
        if value is not None and value < 1:  # 0 is not "the default"
            raise ConfigError(f"{name} must be at least 1, got {value}")
    ratio = config.sfc.ratio if ratio is None else ratio
    t_in = config.sfc.frames if frames is None else frames
    runtime.check_sfc(t_in, ratio)  # before decoding anything
    recipe = SfcRecipe(config.input_spec, t_in, ratio, runtime.head_stride, short, decode=decode,
                       channels_last=runtime.channels_last_input, video_stream=video_stream,
                       uint8=runtime.uint8_input_spec is not None and runtime.uint8_input_spec == config.input_spec)
    unit = recipe.unit
    lengths = tuple(n for n in range(unit, t_in, unit) if unit and runtime.accepts(n, n // unit))
    return replace(recipe, short_lengths=lengths)


def run_sfc(runtime: Runtime, config: ModelConfig, item: SfcInput, top_k: int) -> Prediction:
    """The SFC pass on one prepared input."""
    item.watch.restart()  # the time since it was prepared is no phase of its own
    logits, kept, scores = runtime.run_sfc_scored(item.x, item.ratio)
    item.watch.lap("inference")
    return _prediction(runtime, config, item, logits, kept, scores, top_k)


def iter_sfc(runtime: Runtime, config: ModelConfig, recipe: SfcRecipe, videos: Sequence[VideoInput],
             fps: float | None, top_k: int, errors: str) -> Iterator[Prediction | SfcError]:
    """`run_sfc` over `videos`, in order, the next ones decoded while the runtime runs.
    A prediction's inference time includes its wait in the runtime's queue. `errors`:
    "raise" stops at the first video that fails; "yield" yields its SfcError in its place
    (a ConfigError, a bad option, is raised either way)."""

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
        for item in prefetched(videos, prepare):
            queue.append(item)
            if isinstance(item, SfcInput):
                item.watch.restart()
                yield item.x, item.ratio

    for logits, kept, scores in runtime.run_sfc_many(inputs()):
        while isinstance(queue[0], SfcError):  # failed videos before this one, in their place
            yield queue.popleft()
        item = queue.popleft()
        assert isinstance(item, SfcInput)
        item.watch.lap("inference")
        yield _prediction(runtime, config, item, logits, kept, scores, top_k)
    yield from queue  # failures after the last video that ran


def _prediction(runtime: Runtime, config: ModelConfig, item: SfcInput, logits: np.ndarray, kept: np.ndarray,
                scores: np.ndarray | None, top_k: int) -> Prediction:
    clip, ratio, stride, t_in = item.clip, item.ratio, runtime.head_stride, item.frames
    used = len(clip.indices)
    notes = decode_notes(clip)
    if used < t_in:
        notes.append(f"video has {clip.num_frames} frames: sampled {used} of them, about "
                     f"{clip.num_frames / used:.1f} apart as the model's training clips ("
                     f"{config.input_spec.frame_stride}), at ratio {ratio}")
    elif clip.num_frames < t_in:
        notes.append(f"video has {clip.num_frames} frames, fewer than the {t_in} SFC samples: frames repeat")
    spans = None
    if scores is not None:  # each head step's span of source frames, as a kept moment's
        steps = kept_moments(range(scores.shape[1]), stride, clip.indices)
        spans = [(m.first_frame, m.last_frame) for m in steps]
    return make_prediction(
        logits, config.labels, top_k, item.watch, source=clip.source, mode="sfc", runtime=runtime.info().label,
        num_frames=clip.num_frames, sampled_frames=used, fps=clip.fps, ratio=ratio,
        kept=kept_moments(kept[0].tolist(), stride, clip.indices, fps=clip.fps), padded=clip.num_frames < used,
        notes=notes, scores=None if scores is None else [float(v) for v in scores[0]], score_spans=spans)
