"""Where things are unless the user says otherwise: the bundled model and sample clip,
the per-user cache, and this package's version."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("sfc-sdk")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+local"

ASSETS = Path(__file__).parent / "assets"
SAMPLE_CLIP = ASSETS / "sample" / "lena_jack.avi"  # a Weizmann clip of an actor the bundled model never saw


def default_model_dir() -> Path:
    """The model bundled with the package (trained on Weizmann, see docs/model-card.md)."""
    return ASSETS / "default_model"


def cache_dir() -> Path:
    """Per-user cache: measured device profiles, exported graphs, built engines. `SFC_SDK_CACHE`
    overrides; otherwise `$XDG_CACHE_HOME/sfc-sdk` (the XDG base directory spec), by default
    `~/.cache/sfc-sdk`."""
    if os.environ.get("SFC_SDK_CACHE"):
        return Path(os.environ["SFC_SDK_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the spec: a relative value is ignored
    return base / "sfc-sdk"
