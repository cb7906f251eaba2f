"""Does an export answer as the PyTorch model does? Real clips in, agreement out.

Every bundle is checked this way before it is written: the bundled sample clip seen six
ways plus the user's calibration videos, run through the exported file in its own
runtime and through PyTorch FP32, compared on top-1, kept moments and logits.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..config import ModelConfig
from ..defaults import SAMPLE_CLIP
from ..errors import ConfigError
from ..model import SFCModel
from ..runtimes import Runtime
from ..video.decode import sample_frames
from ..video.files import VIDEO_SUFFIXES, list_videos
from ..video.preprocess import sfc_input
from ..video.sampling import uniform_indices
from .exportable import ExportShape

MAX_USER_CLIPS = 16

# Minimum top-1 agreement and centred-logit cosine against PyTorch FP32, per precision.
PARITY_THRESHOLDS = {"fp32": (1.0, 0.999), "fp16": (1.0, 0.99), "bf16": (1.0, 0.98), "int8": (0.9, 0.95)}


def reference_inputs(frames: int, config: ModelConfig, calib_dir: str | Path | None) -> tuple[list, list[str]]:
    """Real preprocessed inputs for calibration and parity: the bundled sample clip seen
    six ways (whole, first and last two thirds; each also mirrored) plus up to
    MAX_USER_CLIPS videos from `calib_dir`, each sampled over its whole length."""
    spec = config.input_spec
    inputs, sources = [], []

    def add(video: Path, plan: Callable[[int], list[int]], flip: bool, what: str) -> None:
        clip = sample_frames(video, plan, spec.resize_size)
        decoded = clip.frames[:, :, ::-1] if flip else clip.frames
        inputs.append(sfc_input(np.ascontiguousarray(decoded), spec))
        sources.append(what)

    t = frames
    windows = {"whole": lambda n: uniform_indices(n, t),
               "first 2/3": lambda n: uniform_indices(max(1, 2 * n // 3), t),
               "last 2/3": lambda n: [n // 3 + i for i in uniform_indices(n - n // 3, t)]}
    for name, plan in windows.items():
        for flip in (False, True):
            add(SAMPLE_CLIP, plan, flip, f"sample {name}{' mirrored' if flip else ''}")
    for video in calibration_videos(calib_dir) if calib_dir is not None else []:
        add(video, windows["whole"], False, str(video))
    return inputs, sources


def calibration_videos(calib_dir: str | Path) -> list[Path]:
    """Up to MAX_USER_CLIPS videos of a `--calib` folder, spread over it (not its first
    class); a ConfigError where it is missing or holds none."""
    folder = Path(calib_dir)
    if not folder.is_dir():
        raise ConfigError(f"--calib: not a directory: {folder}")
    videos = list_videos(folder)
    if not videos:
        raise ConfigError(f"--calib: no videos ({', '.join(VIDEO_SUFFIXES)}) under {folder}")
    step = max(1, len(videos) // MAX_USER_CLIPS)
    return videos[::step][:MAX_USER_CLIPS]


def runtime_input(x: np.ndarray, runtime: Runtime) -> np.ndarray:
    """The float SFC input `x` as `predict` hands it to `runtime`: the uint8 frames where the
    runtime normalises them itself (`uint8_input_spec`; recovered exactly, since each float is
    one of 256 levels per channel), else, or where `x` is not on those levels (made with
    another spec), `x`."""
    spec = runtime.uint8_input_spec
    if spec is None:
        return x
    mean, std = (np.asarray(v, np.float32).reshape(1, 3, 1, 1, 1) for v in (spec.mean, spec.std))
    levels = (x * std + mean) * 255
    rounded = np.rint(levels)
    if rounded.min() < 0 or rounded.max() > 255 or np.abs(levels - rounded).max() > 0.01:
        return x
    return rounded.astype(np.uint8)


def measure_parity(reference: SFCModel, shape: ExportShape, runtime: Runtime, inputs: list[np.ndarray]) -> dict:
    """Exported model vs PyTorch FP32 on the same inputs, each as `predict` sends it."""
    agree, kept_same, cosines = 0, 0, []
    for x in inputs:
        with torch.inference_mode():
            ref_logits, ref_kept = reference(torch.from_numpy(x), shape.ratio)
        ref_logits, ref_kept = ref_logits.numpy()[0], ref_kept.numpy()[0]
        logits, kept = runtime.run_sfc(runtime_input(x, runtime), shape.ratio)
        logits = logits[0]
        agree += int(np.argmax(logits) == np.argmax(ref_logits))
        kept_same += int(np.array_equal(kept[0], ref_kept))
        a, b = logits - logits.mean(), ref_logits - ref_logits.mean()
        cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)))
    n = len(inputs)
    return {"reference": "torch fp32", "inputs": n, "top1_agreement": agree / n, "kept_agreement": kept_same / n,
            "cosine_min": min(cosines), "cosine_mean": statistics.fmean(cosines)}
