"""Where things are unless the user says otherwise: the bundled model and sample clip,
the per-user cache, this package's version, and the `SFC_SDK_*` environment variables
that say otherwise (`ENVIRONMENT`, one row each, read here and nowhere else)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("sfc-sdk")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+local"

ASSETS = Path(__file__).parent / "assets"
SAMPLE_CLIP = ASSETS / "sample" / "lena_jack.avi"  # a Weizmann clip of an actor the bundled model never saw


@dataclass(frozen=True)
class EnvVar:
    """An environment variable the SDK reads: its name, what it changes, what holds when it is unset."""

    name: str
    effect: str
    default: str

    def value(self) -> str:
        """The variable's value; '' when unset (an empty value counts as unset)."""
        return os.environ.get(self.name, "")


CACHE = EnvVar("SFC_SDK_CACHE", "The per-user cache: `sfc-sdk profile` measurements (`measurements/`), "
               "OpenVINO's compiled models, dense teacher predictions, the demo's plot, and by default the "
               "three caches below.",
               "`$XDG_CACHE_HOME/sfc-sdk`, else `~/.cache/sfc-sdk`")
DOWNLOADS = EnvVar("SFC_SDK_DOWNLOADS", "Where `sfc-sdk pull` keeps the checkpoints it fetches (and finds them "
                   "next time, by sha256).", "the cache's `downloads/`")
EXPORT_CACHE = EnvVar("SFC_SDK_EXPORT_CACHE", "Where ONNX exports are kept between `profile` and `convert` runs "
                      "(the least recently used go first when it is full).", "the cache's `exports/`")
ENGINE_CACHE = EnvVar("SFC_SDK_ENGINE_CACHE", "Where TensorRT engines built on this machine are kept, per bundle, "
                      "GPU and TensorRT version.", "the cache's `engines/`")
DEVICES = EnvVar("SFC_SDK_DEVICES", "Folders of user device profiles (JSON), separated by the path separator "
                 "(`:`, or `;` on Windows); read after the shipped ones and `~/.config/sfc-sdk/devices`, a profile "
                 "with a name already seen replaces it.", "none")
FRAME_SOURCE = EnvVar("SFC_SDK_FRAME_SOURCE", "The frame source tried first for files, cameras and streams "
                      "(a registered name: `pyav`, `opencv`), e.g. to compare decoders.",
                      "by priority: PyAV for files where installed, else OpenCV")
KEEP_FREED_MEMORY = EnvVar("SFC_SDK_KEEP_FREED_MEMORY", "`0`: leave glibc's allocator as it is. Otherwise the "
                           "PyTorch runtime keeps freed activation memory in the process (faster calls, resident "
                           "memory stays at its peak).", "`1` (keep it, on Linux with glibc)")

ENVIRONMENT: tuple[EnvVar, ...] = (CACHE, DOWNLOADS, EXPORT_CACHE, ENGINE_CACHE, DEVICES, FRAME_SOURCE,
                                   KEEP_FREED_MEMORY)


def environment_markdown() -> str:
    """`ENVIRONMENT` as a markdown table (for the docs)."""
    rows = ["| Variable | What it changes | When unset |", "| --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.effect} | {v.default} |" for v in ENVIRONMENT]
    return "\n".join(rows)


def environment_set() -> dict[str, str]:
    """The variables of `ENVIRONMENT` set in this process, and their values."""
    return {v.name: v.value() for v in ENVIRONMENT if v.value()}


def default_model_dir() -> Path:
    """The model bundled with the package (trained on Weizmann, see docs/model-card.md)."""
    return ASSETS / "default_model"


def cache_dir() -> Path:
    """Per-user cache: `$SFC_SDK_CACHE`; otherwise `$XDG_CACHE_HOME/sfc-sdk` (the XDG base
    directory spec), by default `~/.cache/sfc-sdk`."""
    if CACHE.value():
        return Path(CACHE.value())
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the spec: a relative value is ignored
    return base / "sfc-sdk"


def downloads_dir() -> Path:
    """Where fetched checkpoints are kept: `$SFC_SDK_DOWNLOADS`, else the cache's downloads/."""
    return Path(DOWNLOADS.value() or cache_dir() / "downloads")


def export_cache_dir() -> Path:
    """The root of the export cache: `$SFC_SDK_EXPORT_CACHE`, else the cache's exports/."""
    return Path(EXPORT_CACHE.value() or cache_dir() / "exports")


def engine_cache_dir() -> Path:
    """The root of the TensorRT engine cache: `$SFC_SDK_ENGINE_CACHE`, else the cache's engines/."""
    return Path(ENGINE_CACHE.value() or cache_dir() / "engines")


def user_device_dirs() -> list[Path]:
    """The folders `$SFC_SDK_DEVICES` names, in its order."""
    return [Path(p) for p in DEVICES.value().split(os.pathsep) if p]


def preferred_frame_source() -> str:
    """The frame source `$SFC_SDK_FRAME_SOURCE` puts first; '' for none."""
    return FRAME_SOURCE.value()


def keep_freed_memory_wanted() -> bool:
    """False where `$SFC_SDK_KEEP_FREED_MEMORY` is 0 (leave the allocator as it is)."""
    return KEEP_FREED_MEMORY.value() != "0"
