"""Sampled frames -> the network's input tensors, for SFC and for dense views.

The same steps serve `Recognizer.predict`, live windows (one frame at a time), export
calibration and parity, and the benchmarks, so every path feeds a model identically.
"""

from __future__ import annotations

import numpy as np

from ..config import InputSpec
from .decode import Plan
from .sampling import Views, clip_indices, whole_video_indices
from .transforms import center_crop, normalize, resize_short_side, three_crops


def sfc_input(frames: np.ndarray, spec: InputSpec, channels_last: bool = False, uint8: bool = False) -> np.ndarray:
    """Decoded frames (T, H, W, 3) uint8, short side resized -> the SFC input (1, 3, T, crop, crop):
    float32, in channels-last memory if asked (see `normalize`); or, with `uint8`, the centre
    crop of `frames` as uint8, a view (no copy) for a runtime that normalises it itself
    (`Runtime.uint8_input_spec`)."""
    if uint8:
        crop = center_crop(frames, spec.crop_size)
        if any(s < 0 for s in crop.strides):  # a reversed view (BGR -> RGB): torch takes none
            crop = np.ascontiguousarray(crop)
        return crop.transpose(3, 0, 1, 2)[None]
    return normalize(center_crop(frames, spec.crop_size), spec.mean, spec.std, channels_last=channels_last)[None]


def frame_input(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """One full-size (H, W, 3) uint8 frame -> its slice of the SFC input, (3, 1, crop, crop) float32;
    concatenated along time, slices equal `sfc_input` of the same frames."""
    return normalize(center_crop(resize_short_side(rgb, spec.resize_size)[None], spec.crop_size), spec.mean, spec.std)


def dense_plan(spec: InputSpec, views: Views, multiple: int = 1) -> tuple[Plan, int]:
    """Frames dense sampling decodes (every clip's, in order) and the short side to resize to:
    3-crop testing resizes the short side to the crop size and tiles the long side. The
    whole-video view's length is a `multiple` of frames (the network's temporal stride)."""
    def plan(n: int) -> list[int]:
        if views.whole:
            return whole_video_indices(n, spec.clip_len, spec.frame_stride, multiple)
        return [i for c in clip_indices(n, views.clips, spec.clip_len, spec.frame_stride) for i in c]

    return plan, spec.crop_size if views.crops == 3 else spec.resize_size


def dense_input(frames: np.ndarray, spec: InputSpec, views: Views, channels_last: bool = False) -> np.ndarray:
    """Frames of `dense_plan` -> the views batch (clips x crops, 3, clip_len, crop, crop) float32,
    in channels-last memory if asked (see `normalize`)."""
    clip_len = len(frames) // views.clips  # the whole-video view's one clip is as long as its plan
    per_clip = frames.reshape(views.clips, clip_len, *frames.shape[1:])
    crops = [crop for clip in per_clip for crop in (three_crops(clip, spec.crop_size) if views.crops == 3
                                                    else [center_crop(clip, spec.crop_size)])]
    size = (clip_len, spec.crop_size, spec.crop_size)
    out = np.empty((len(crops), *size, 3) if channels_last else (len(crops), 3, *size), np.float32)
    for view, crop in zip(out, crops, strict=True):  # straight into the batch: no stacking copy
        normalize(crop, spec.mean, spec.std, out=view, channels_last=channels_last)
    return out.transpose(0, 4, 1, 2, 3) if channels_last else out
