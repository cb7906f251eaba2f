"""Frames -> normalised network input: crops and normalisation on uint8 RGB frames.

Resizing happens at decode time (`video.resize_short_side`), so these only cut and
scale. Layout out is the one 3D CNNs take: (3, T, H, W) float32.
"""

from __future__ import annotations

import numpy as np


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


def normalize(frames: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float32, scaled to [0, 1] then standardised."""
    scale = np.float32(1.0 / 255.0)
    m = np.asarray(mean, np.float32)
    s = np.asarray(std, np.float32)
    x = (frames.astype(np.float32) * scale - m) / s
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2))
