"""The dense teacher's class distribution per video, computed once and kept on disk.

SFC training distils the dense prediction (30 views by default) of the same frozen
backbone. For DeepMind's I3D on this 2-core CPU that is about 34 s per 10-s video (model
time; benchmarks/results/i3d_deploy.md), so each video's teacher output is written as
soon as it is computed, under a key of the video's bytes, the backbone's weights and the
views: an interrupted run, another fold of a nested split or another recipe on the
same videos reads it instead of recomputing it.

    <cache>/teacher/<backbone sha256[:16]>-<views>/<video sha256[:32]>.npy   (classes,) float32
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..defaults import cache_dir
from ..fileio import sha256_file
from ..inference import Recognizer


def teacher_folder(backbone_sha256: str, views: str, root: Path | None = None) -> Path:
    """Where the teacher outputs of this backbone and these views are kept."""
    return (root or cache_dir() / "teacher") / f"{backbone_sha256[:16]}-{views}"


def dense_teacher_probs(rec: Recognizer, videos: Sequence[Path], backbone_sha256: str, views: str = "10x3",
                  root: Path | None = None, progress: bool = True) -> np.ndarray:
    """(videos, classes) float32: each video's dense `views` class distribution from `rec`,
    read from the cache where present, else computed and written there at once."""
    from tqdm import tqdm

    folder = teacher_folder(backbone_sha256, views, root)
    folder.mkdir(parents=True, exist_ok=True)
    classes = len(rec.labels)
    out = np.zeros((len(videos), classes), np.float32)
    computed = 0
    bar = tqdm(videos, desc=f"teacher {views}", disable=not progress, leave=False)
    for i, video in enumerate(bar):
        path = folder / f"{sha256_file(video)[:32]}.npy"
        if path.is_file():
            kept = np.load(path, allow_pickle=False)
            if kept.shape == (classes,):
                out[i] = kept
                continue
        pred = rec.predict(video, top_k=classes, mode="dense", views=views)
        out[i, [t.index for t in pred.top]] = [t.score for t in pred.top]
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, out[i])
        os.replace(partial, path)  # whole or absent: a killed run never leaves half a file
        computed += 1
        bar.set_postfix(computed=computed, cached=i + 1 - computed)
    return out
