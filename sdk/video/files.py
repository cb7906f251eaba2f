"""Finding videos on disk: one list of video suffixes for every command that walks a
folder (batch prediction, calibration clips, training and profiling datasets)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

# .gif: animated GIFs are a common clip format (DeepMind's I3D sample is one).
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif")


def is_video_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def list_videos(folder: str | os.PathLike) -> list[Path]:
    """Every video under `folder`, recursively, sorted."""
    return [p for p in sorted(Path(folder).rglob("*")) if is_video_file(p)]


def expand_inputs(items: Iterable[str | os.PathLike]) -> list[str]:
    """Files as given; folders replaced by the videos under them (sorted, recursive)."""
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and "://" in item:  # a URL stays as given (Path() folds its "//")
            out.append(item)
            continue
        path = Path(item)
        out += [str(p) for p in list_videos(path)] if path.is_dir() else [str(path)]
    return out


UNLABELLED = -1  # VideoItem.label of a video that has none (label-free training)


@dataclass(frozen=True)
class VideoItem:
    path: Path
    label: int


def _wanted(path: Path, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return ((not include or any(fnmatch.fnmatch(path.name, g) for g in include))
            and not any(fnmatch.fnmatch(path.name, g) for g in exclude))


def scan_videos(inputs: Sequence[str | os.PathLike], include: Sequence[str] = (), exclude: Sequence[str] = ()
                ) -> list[VideoItem]:
    """Unlabelled videos: files as given, folders searched recursively; `include` /
    `exclude` are file-name globs as in `scan_folder`."""
    missing = [str(i) for i in inputs if not Path(i).exists()]
    if missing:
        raise ConfigError(f"not found: {', '.join(missing)}")
    items = [VideoItem(Path(p), UNLABELLED) for p in expand_inputs(inputs) if _wanted(Path(p), include, exclude)]
    if not items:
        raise ConfigError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {', '.join(str(i) for i in inputs)}")
    return items


def scan_folder(root: str | Path, include: Sequence[str] = (), exclude: Sequence[str] = ()
                ) -> tuple[list[str], list[VideoItem]]:
    """A folder-per-class dataset: classes (sorted sub-folder names) and the videos in
    them. `include` / `exclude` are file-name globs (e.g. "lena_*"), so a dataset can be
    split by actor.

        data/
          bend/  daria_bend.avi  denis_bend.avi ...
          jack/  ...
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"dataset folder not found: {root}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    items = []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            if is_video_file(path) and _wanted(path, include, exclude):
                items.append(VideoItem(path, label))
    if not classes or not items:
        raise ConfigError(f"{root}: expected one sub-folder of videos per class, found no videos")
    return classes, items
