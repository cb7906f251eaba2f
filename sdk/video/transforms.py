"""Frames -> normalised network input: resizing, crops and normalisation on uint8 RGB frames.

Resizing happens at decode time (`resize_short_side`, frame by frame as each is decoded),
the rest on the sampled frames. Layout out is the one 3D CNNs take: (3, T, H, W) float32.
"""

from __future__ import annotations

import cv2
import numpy as np


def resize_short_side(frame: np.ndarray, size: int | None) -> np.ndarray:
    """Scale so the short side is `size` (None: leave the frame as it is)."""
    h, w = frame.shape[:2]
    if size is None or min(h, w) == size:
        return frame
    scale = size / min(h, w)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))  # cv2 takes (width, height)
    return cv2.resize(frame, new, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def resize_square(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, h, w, 3) -> (T, size, size, 3), area-averaged when shrinking."""
    h = frames.shape[1]
    interpolation = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interpolation) for f in frames])


def center_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W, 3) -> (T, size, size, 3) from the centre. Frames smaller than `size`
    are an error of the caller: resize the short side to at least `size` first."""
    h, w = frames.shape[1:3]
    top, left = (h - size) // 2, (w - size) // 2
    return frames[:, top : top + size, left : left + size]


def three_crops(frames: np.ndarray, size: int) -> list[np.ndarray]:
    """Three `size` squares along the long side (start, centre, end), the standard
    3-crop test protocol (PySlowFast); the short side should already equal `size`."""
    h, w = frames.shape[1:3]
    if w >= h:
        offsets = [(0, (h - size) // 2, x) for x in (0, (w - size) // 2, w - size)]
    else:
        offsets = [(0, y, (w - size) // 2) for y in (0, (h - size) // 2, h - size)]
    return [frames[:, y : y + size, x : x + size] for _, y, x in offsets]


def normalize(frames: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...],
              out: np.ndarray | None = None, channels_last: bool = False) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float32, scaled to [0, 1] then standardised;
    written into `out` when given (C-contiguous float32, (3, T, H, W), or (T, H, W, 3)
    with `channels_last`). `channels_last`: the result is a (3, T, H, W) view of (T, H, W, 3)
    memory, the layout oneDNN convolves fastest (PyTorch's channels_last_3d), so the
    runtime need not copy it there."""
    # A uint8 has 256 values: look each channel's results up instead of computing them
    # per pixel (same float32 arithmetic, same bits), with OpenCV's SIMD lookup: 5-7x
    # faster than numpy's take on strided planes (benchmarks/results/preprocess.md).
    if frames.dtype != np.uint8:  # the table has one entry per uint8 level
        raise TypeError(f"normalize takes uint8 frames, got {frames.dtype}")
    t, h, w, channels = frames.shape
    levels = np.arange(256, dtype=np.float32) * np.float32(1.0 / 255.0)
    table = (levels[None] - np.asarray(mean, np.float32)[:, None]) / np.asarray(std, np.float32)[:, None]
    shape = (t, h, w, channels) if channels_last else (channels, t, h, w)
    if out is None:
        out = np.empty(shape, np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {shape}")
    # One tall image of T*H rows: a centre crop is a strided view and is copied once here.
    image = np.ascontiguousarray(frames).reshape(t * h, w, channels)
    if channels_last:
        cv2.LUT(image, np.ascontiguousarray(table.T)[None], dst=out.reshape(t * h, w, channels))
        return out.transpose(3, 0, 1, 2)
    for c, plane in enumerate(cv2.split(image)):
        cv2.LUT(plane, table[c], dst=out[c].reshape(t * h, w))
    return out
