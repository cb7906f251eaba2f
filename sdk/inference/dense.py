"""Dense views, the baseline SFC is measured against: clips x crops over the video, each
run through the runtime, their probabilities averaged.

`Recognizer.predict(mode="dense")` runs here. Only a runtime that runs the whole network
on a clip offers it (PyTorch; an exported bundle holds the SFC pass only).
"""

from __future__ import annotations

import numpy as np

from ..config import ModelConfig
from ..runtimes import Runtime
from ..video.decode import VideoInput, sample_frames
from ..video.preprocess import dense_input, dense_plan
from ..video.sampling import WHOLE_VIDEO_MAX_FRAMES, Views
from .postprocess import decode_notes, make_prediction
from .results import Prediction, Stopwatch

# Dense views per runtime call, by input size: all 30 views of the Weizmann model (72 MB)
# in one call, three of I3D's (38.5 MB each). All 30 I3D views at once peaked at 10 GB
# here and took 71 s; three at a time, 3.2 GB and 33 s (cricket GIF, 10x3).
DENSE_CALL_BYTES = 128 * 2**20


def predict_dense(runtime: Runtime, config: ModelConfig, video: VideoInput, top_k: int, views: Views,
                  fps: float | None = None, video_stream: int | None = None,
                  view_batch: int | None = None) -> Prediction:
    """`video`'s `views` through `runtime`, `view_batch` views per call (None: as many as fit
    DENSE_CALL_BYTES of input)."""
    runtime.check_views()  # before decoding anything
    spec = config.input_spec
    plan, short = dense_plan(spec, views, runtime.view_stride)
    watch = Stopwatch()
    clip = sample_frames(video, plan, short, fps, video_stream=video_stream)
    watch.lap("decode")
    batch = dense_input(clip.frames, spec, views, runtime.channels_last_input)
    watch.lap("preprocess")
    step = view_batch or max(1, DENSE_CALL_BYTES // batch[0].nbytes)
    logits = np.concatenate([runtime.run_views(batch[i:i + step]) for i in range(0, len(batch), step)])
    watch.lap("inference")

    span = (spec.clip_len - 1) * spec.frame_stride + 1
    notes = decode_notes(clip)
    if clip.num_frames < span:
        notes.append(f"video has {clip.num_frames} frames, shorter than one {span}-frame clip: last frame repeats")
    elif views.whole and -(-clip.num_frames // spec.frame_stride) > WHOLE_VIDEO_MAX_FRAMES:
        notes.append(f"whole-video view: {len(clip.indices)} frames spread over the video's "
                     f"{clip.num_frames} (its limit is {WHOLE_VIDEO_MAX_FRAMES}), not every {spec.frame_stride}")
    return make_prediction(
        logits, config.labels, top_k, watch, source=clip.source, mode="dense", runtime=runtime.info().label,
        num_frames=clip.num_frames, sampled_frames=len(clip.indices), fps=clip.fps, views=str(views),
        padded=clip.num_frames < span, notes=notes)
