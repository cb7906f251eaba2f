"""Frame sources: the one seam every video input goes through, offline and live.

A frame source is an opened video, read in order. `sample_frames` (decode.py) and
`LiveSource` (live/) use nothing but this protocol, so a new input (another video
library, a camera SDK) is one module in this folder: a class that implements
`FrameSource`, registered with `@register_frame_source`. Modules here are found without
a list to edit. An input goes to the highest-priority source registered for its kind;
if that one cannot open it, the next is tried (an ordered fallback).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, Protocol, runtime_checkable

import numpy as np

from ...defaults import preferred_frame_source
from ...errors import ConfigError, NotAVideoError, StillImageError, VideoError

Kind = Literal["file", "camera", "url", "frames"]
KINDS: tuple[Kind, ...] = ("file", "camera", "url", "frames")


class FrameSource(Protocol):
    """An opened video. `grab` decodes the next frame without converting it (cheap for
    frames nobody samples); `retrieve` converts the frame last grabbed."""

    fps: float | None  # nominal frame rate; None when the source does not say
    frame_count: int  # frames the container claims; 0 when it does not say (cameras, streams)

    def grab(self) -> bool:
        """Decode the next frame; False at the end (or when the source failed)."""

    def retrieve(self, short_side: int | None = None) -> np.ndarray | None:
        """The frame last grabbed as (H, W, 3) uint8 RGB, its short side scaled to
        `short_side` (None: native size); None if it cannot be converted."""

    def seek(self, index: int) -> bool:
        """Make frame `index` the one the next `grab` decodes; False where the source cannot seek."""

    def rewind(self) -> None:
        """Make the next `grab` decode the first frame, exactly as on a freshly opened
        source (so one opening serves every pass over a file); raises a VideoError where
        the source cannot be read again. Optional for a registered source: one without it
        is opened again instead."""

    def close(self) -> None: ...


class DecodedFrame(NamedTuple):
    """A frame handed out for a requested one: `index` is the frame it really is (the
    requested frame, or one within the tolerance the caller allowed)."""

    index: int
    rgb: np.ndarray  # (H, W, 3) uint8


@runtime_checkable
class IndexedSource(FrameSource, Protocol):
    """A file source that knows its frames without decoding them (its demuxed packets),
    and so can decode only the frames a plan samples (`pyav.py`)."""

    header_frames: int  # what the container claims, which may be wrong (0: it does not say)

    def read_frames(self, indices: list[int], short_side: int | None, tolerance: int = 0
                    ) -> dict[int, DecodedFrame] | None:
        """The frames `indices` names, resized as `retrieve` does, by requested index; None
        where it cannot be sure of them (the caller then decodes the whole video).
        `tolerance` > 0: a decoded frame up to that many frames away may stand in for a
        requested one, so the decoder may skip frames nothing else is predicted from."""


# factory(target, *, kind, timeout_s[, video_stream]) -> FrameSource, or raises VideoError.
# `video_stream` (a container stream index) is passed only to sources registered with selects_stream.
Factory = Callable[..., FrameSource]


@dataclass(frozen=True)
class SourceEntry:
    name: str
    kinds: tuple[Kind, ...]
    factory: Factory
    priority: int
    selects_stream: bool = False  # can open a chosen video stream of a file with several


_REGISTRY: dict[str, SourceEntry] = {}
_discovered = False


def register_frame_source(name: str, *, kinds: Sequence[Kind], priority: int = 0,
                          selects_stream: bool = False) -> Callable[[Factory], Factory]:
    """Class decorator: `cls(target, *, kind, timeout_s)` opens `kinds` of input or raises a
    VideoError; with `selects_stream`, it also takes `video_stream=` (a container stream index)."""

    def wrap(factory: Factory) -> Factory:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown source kinds {sorted(unknown)}; use {KINDS}")
        _REGISTRY[name] = SourceEntry(name, tuple(kinds), factory, priority, selects_stream)
        return factory

    return wrap


def _discover() -> None:
    """Import every module in this folder once, so their sources register."""
    global _discovered
    if not _discovered:
        _discovered = True
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")


def source_kind(target: object) -> Kind:
    """'frames' (arrays in memory), 'camera' (an index such as 0), 'url' (rtsp://, http://, ...) or 'file'."""
    if isinstance(target, (np.ndarray, list, tuple)):
        return "frames"
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return "camera"
    if isinstance(target, str) and "://" in target:
        return "url"
    return "file"


def frame_sources(kind: Kind) -> list[SourceEntry]:
    """Registered sources for `kind`, preferred first ($SFC_SDK_FRAME_SOURCE first of all)."""
    _discover()
    preferred = preferred_frame_source()
    return sorted((e for e in _REGISTRY.values() if kind in e.kinds),
                  key=lambda e: (e.name != preferred, -e.priority))


def open_frame_source(target: str | int | os.PathLike | np.ndarray | Sequence[np.ndarray], *,
                      kind: Kind | None = None, timeout_s: float | None = None,
                      video_stream: int | None = None) -> FrameSource:
    """Open `target` with the first registered source that can; raises the preferred
    source's VideoError when none can. `kind`: what `target` is, where its form does not
    say (a file named `2024` is not camera 2024); `timeout_s` bounds opening and reading
    network streams; `video_stream`: which video stream of a file (its index in the container;
    None: the one FFmpeg would pick)."""
    kind = kind or source_kind(target)
    if kind == "file":
        target = str(Path(target))
    errors: list[VideoError] = []
    entries = [e for e in frame_sources(kind) if video_stream is None or e.selects_stream]
    if video_stream is not None and not entries:
        raise ConfigError(f"choosing a video stream ({video_stream}) needs PyAV: pip install av")
    for entry in entries:
        try:
            extra = {} if video_stream is None else {"video_stream": video_stream}
            return entry.factory(target, kind=kind, timeout_s=timeout_s, **extra)
        except StillImageError:
            raise  # what the file is, not what one reader can do: another reader must not make it a 1-frame video
        except VideoError as e:
            errors.append(e)
    if errors:
        raise errors[0]
    raise NotAVideoError(f"no frame source is registered for {kind} inputs")
