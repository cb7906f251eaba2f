"""What `Recognizer.predict` returns: ranked labels, kept moments, timings.

Every prediction (SFC, dense, a live window) is timed by a `Stopwatch` and made by
`postprocess.make_prediction`, so all of them report the same things the same way.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The phases of a prediction, in the order they run; `Prediction.timings_ms` has each of
# them and "total", their sum. A phase a path does not have (decoding, for a live window
# whose frames were decoded as they arrived) counts 0.
PHASES = ("decode", "preprocess", "inference")
TIMING_KEYS = (*PHASES, "total")


class Stopwatch:
    """Milliseconds per phase of one prediction. `lap(phase)` ends `phase`, begun at the
    last lap, `restart` or the watch's making; time between a `restart` and the lap before
    it (a prepared input waiting to be run) counts in no phase. Picklable: an input
    prepared in another process (`ray_job.py`) carries its decode and preprocess times
    here, and is restarted where it runs."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._mark = time.perf_counter()

    def restart(self) -> None:
        self._mark = time.perf_counter()

    def lap(self, phase: str) -> None:
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        now = time.perf_counter()
        self.ms[phase] = (now - self._mark) * 1000  # set, not added: an input run twice reports its last run
        self._mark = now

    def timings_ms(self) -> dict[str, float]:
        """Every phase (0 where it did not run) and their total, as `Prediction.timings_ms`."""
        out = {phase: self.ms.get(phase, 0.0) for phase in PHASES}
        out["total"] = sum(out.values())
        return out


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float  # probability (softmax; averaged over views in dense mode)
    index: int  # class index in the model's label list


@dataclass(frozen=True)
class KeptMoment:
    """A time step SFC kept: the span of source frames its head feature covers."""

    frame: int  # source frame index near the span's centre
    first_frame: int
    last_frame: int
    time_s: float | None  # centre of the span in seconds (None: frame rate unknown)


@dataclass
class Prediction:
    source: str
    top: list[LabelScore]
    mode: str  # "sfc" or "dense"
    ratio: int | None  # SFC compression ratio (sfc mode)
    views: str | None  # "10x3" etc. (dense mode)
    kept: list[KeptMoment]  # moments SFC kept, in temporal order (empty in dense mode)
    num_frames: int  # frames the video has
    fps: float | None
    sampled_frames: int  # frames decoded and fed to the network
    padded: bool  # too few frames: some were repeated to fill the input
    timings_ms: dict[str, float]  # TIMING_KEYS: decode, preprocess, inference, total (their sum)
    runtime: str
    notes: list[str] = field(default_factory=list)
    # SFC mode: the selection score of every head time step (learned + prior; the kept moments
    # are the highest), and the first and last source frame each step covers. None where the
    # runtime gives no scores (exported bundles) and in dense mode.
    scores: list[float] | None = None
    score_spans: list[tuple[int, int]] | None = None

    @property
    def label(self) -> str:
        return self.top[0].label

    @property
    def score(self) -> float:
        return self.top[0].score

    @property
    def kept_times(self) -> list[float | None]:
        """Seconds of the kept moments (the 'moments of the video that SFC kept')."""
        return [k.time_s for k in self.kept]

    @property
    def duration_s(self) -> float | None:
        return self.num_frames / self.fps if self.fps else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def plot(self, path: str | Path | None = None, *, video: Any = None, dpi: int = 120) -> Any:
        """Draw why SFC chose what it chose: the selection scores over the video's time, the
        kept moments marked, a thumbnail of each kept frame, the top labels in the title.
        Written to `path` (the suffix picks the format: .png, .svg, .pdf) when given; returns
        the matplotlib Figure. Thumbnails are decoded from `video`, by default the file the
        prediction was made on. Needs matplotlib (`pip install "sfc-sdk[plot]"`); an SFC
        prediction only (ConfigError for dense)."""
        from .plot import plot_prediction  # matplotlib only when a plot is drawn

        return plot_prediction(self, path, video=video, dpi=dpi)

    def summary(self) -> str:
        """A few human-readable lines, as the CLI prints them."""
        what = f"sfc ratio {self.ratio}" if self.mode == "sfc" else f"dense {self.views}"
        dur = f"{self.duration_s:.1f}s, " if self.duration_s else ""
        lines = [f"{self.source}  ({dur}{self.num_frames} frames; {what}; {self.runtime}; "
                 f"{self.timings_ms['total']:.0f} ms)"]
        lines += [f"  {i + 1}. {t.label:<24s} {t.score:6.3f}" for i, t in enumerate(self.top)]
        if self.kept:
            marks = [f"{k.time_s:.2f}s" if k.time_s is not None else f"#{k.frame}" for k in self.kept]
            lines.append("  kept: " + " ".join(marks))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
