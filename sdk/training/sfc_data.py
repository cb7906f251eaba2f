"""What SFC training learns from: the videos (clips, their long versions, the held-out
ones) and the answer each should give (its label, the dense teacher's prediction).

Without labels the dense prediction of the same frozen backbone is the only target:
the teacher of a clip is also the target of its long version (the same action, amid
other footage).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..inference import Recognizer
from ..video.files import VideoItem, scan_folder, scan_videos
from ..video.longvideo import make_long_video
from .teacher import dense_teacher_probs


@dataclass(frozen=True)
class TrainingVideo:
    path: Path
    label: int  # the class index; without labels whatever the scan gave (unused)
    long: bool  # a long version of a clip (`make_long_video`), not the clip itself


@dataclass(frozen=True)
class VideoSplit:
    """The clips as found, before long versions are added."""

    labelled: bool
    train: list[VideoItem]
    val: list[VideoItem]


def select_videos(labels: Sequence[str], data_dir: str | Path | None, videos: Sequence[str | Path],
                  val: Sequence[str], exclude: Sequence[str]) -> VideoSplit:
    """The training and validation clips: from a folder per class (`data_dir`, whose classes
    must be the model's `labels`), or without labels from `videos`; `val` globs hold
    clips out for validation, `exclude` globs drop them altogether."""
    labelled = data_dir is not None
    if labelled == bool(videos):
        raise ConfigError("train SFC on a folder per class (data_dir) or, without labels, on videos: one of the two")
    if labelled:
        classes, items = scan_folder(data_dir, exclude=exclude)
        if tuple(classes) != tuple(labels):
            raise ConfigError(f"dataset classes {classes} differ from the model's labels {list(labels)}")
        val_items = scan_folder(data_dir, include=val, exclude=exclude)[1] if val else []
    else:
        items = scan_videos(videos, exclude=exclude)
        val_items = scan_videos(videos, include=val, exclude=exclude) if val else []
    val_paths = {i.path for i in val_items}
    train_items = [i for i in items if i.path not in val_paths]
    if not train_items:
        raise ConfigError("every video matched --val: nothing is left to train on")
    return VideoSplit(labelled, train_items, val_items)


def with_long_versions(items: Sequence[VideoItem], long_dir: Path | None, seed: int) -> list[TrainingVideo]:
    """The clips, then (with a `long_dir`) a long version of each, in the same order: the
    i-th long video is the (i mod clips)-th clip amid other footage."""
    out = [TrainingVideo(i.path, i.label, False) for i in items]
    if long_dir is not None:
        out += [TrainingVideo(make_long_video(i.path, long_dir, seed=seed).path, i.label, True) for i in items]
    return out


@dataclass(frozen=True)
class Targets:
    """Per training video (rows in the order of the training videos)."""

    teacher: torch.Tensor  # (videos, classes): the dense teacher's class distribution
    labels: torch.Tensor | None  # (videos,) class indices; None without labels
    scores: torch.Tensor  # (videos, classes): the class whose evidence the scores look for
    distill_mask: torch.Tensor  # (videos,) 1.0 where the teacher is distilled
    teacher_top1: float | None  # the teacher's accuracy on the training videos; None without labels
    val_teacher: np.ndarray  # without labels: the teacher's top-1 per validation clip (else empty)


def teacher_targets(rec: Recognizer, split: VideoSplit, train_videos: Sequence[TrainingVideo], backbone_sha256: str,
                    distill: str, views: str, progress: bool) -> Targets:
    """Each training video's targets; the teacher is the dense `views` prediction of `rec`
    (kept on disk, `dense_teacher_probs`). `distill`: "correct" distils only the videos
    the teacher gets right, "all" every video, "none" none (without labels: every video)."""
    classes = len(rec.labels)
    if split.labelled:
        teacher = torch.from_numpy(dense_teacher_probs(rec, [v.path for v in train_videos], backbone_sha256, views,
                                                       progress=progress))
        labels = torch.tensor([v.label for v in train_videos])
        right = teacher.argmax(1) == labels
        mask = right.float() if distill == "correct" else torch.full((len(train_videos),), float(distill == "all"))
        return Targets(teacher, labels, F.one_hot(labels, classes).float(), mask, float(right.float().mean()),
                       np.zeros(0))
    originals = dense_teacher_probs(rec, [i.path for i in split.train], backbone_sha256, views, progress=progress)
    teacher = torch.from_numpy(np.concatenate([originals] * (len(train_videos) // len(split.train))))
    val_teacher = dense_teacher_probs(rec, [i.path for i in split.val], backbone_sha256, views,
                                      progress=progress).argmax(1) if split.val else np.zeros(0)
    return Targets(teacher, None, teacher, torch.ones(len(train_videos)), None, val_teacher)
