"""What `Recognizer.predict` returns: ranked labels, kept moments, timings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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
    timings_ms: dict[str, float]  # decode, preprocess, inference, total
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
