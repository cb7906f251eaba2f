"""Why SFC chose what it chose: an SFC prediction drawn as the selection score of every
head time step over the video's time, the moments it kept (the highest scores) marked
where they are, a thumbnail of each kept frame below, the top labels in the title.

The predictions layer: thumbnails are decoded through the video layer below it.
matplotlib is the optional `plot` extra, imported here only when a plot is drawn, and
used without pyplot (a Figure on the Agg canvas): no window, no backend switch, no
global list of open figures.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingExtraError
from ..formats import PLOT_EXTRA, extra_hint
from ..video.decode import sample_frames

THUMB_SHORT_SIDE = 256  # pixels the kept frames are decoded at (a thumbnail is drawn about this size)
MAX_COLUMNS = 8  # thumbnails per row
WIDTH_IN = 11.0
KEPT = "#d9480f"  # kept moments: spans, markers, thumbnail frames
CURVE = "#1c5d99"
MUTED = "#6c757d"


def require_matplotlib() -> tuple[Any, Any]:
    """matplotlib's Figure and Agg canvas classes, or a MissingExtraError naming the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(f"plots need matplotlib, the plot extra: {extra_hint(PLOT_EXTRA)}") from None
    return Figure, FigureCanvasAgg


def plot_prediction(pred: Any, path: str | Path | None = None, *, video: Any = None, dpi: int = 120) -> Any:
    """Draw the SFC prediction `pred` (a Prediction); write it to `path` when given (the
    suffix picks the format). Returns the matplotlib Figure: its first axes, labelled
    "scores", the score curve; then one axes per kept moment, labelled "kept 1", "kept 2"...
    Thumbnails are decoded from `video` (default: `pred.source` when it is a file); without
    one, or without scores (a runtime that gives none), the figure says what is missing."""
    if pred.mode != "sfc" or not pred.kept:
        raise ConfigError(f"plots are for SFC predictions (mode='sfc'): they show the moments SFC kept; this one "
                          f"is a {pred.mode} prediction ({pred.views or 'no kept moments'})")
    figure_cls, canvas_cls = require_matplotlib()
    frames, missing = _thumbnails(pred, video)

    k = len(pred.kept)
    cols = min(k, MAX_COLUMNS)
    grid_cols = max(cols, 4)  # one or two thumbnails stay thumbnail-sized, centred
    rows = math.ceil(k / cols) if frames is not None else 0
    aspect = frames.shape[1] / frames.shape[2] if frames is not None else 0.75  # height / width
    row_in = WIDTH_IN / grid_cols * aspect + 0.55  # image plus its two caption lines
    score_in = 3.0 if pred.scores else 1.6
    fig = figure_cls(figsize=(WIDTH_IN, score_in + rows * row_in + 0.9), layout="constrained", facecolor="white")
    canvas_cls(fig)
    fig.get_layout_engine().set(wspace=0.02)  # a gap between thumbnails
    grid = fig.add_gridspec(1 + rows, 1, height_ratios=[score_in] + [row_in] * rows)

    ax = fig.add_subplot(grid[0])
    _draw_scores(ax, pred)
    if missing:
        fig.supxlabel(missing, fontsize=9, color=MUTED)
    if frames is not None:
        for i, (moment, frame) in enumerate(zip(pred.kept, frames, strict=True)):
            row, col = divmod(i, cols)
            if col == 0:  # a short row is centred: blank columns share the rest of the width
                in_row = min(cols, k - row * cols)
                pad = (grid_cols - in_row) / 2
                widths = [pad, *[1.0] * in_row, pad] if pad else [1.0] * in_row
                cells = grid[1 + row].subgridspec(1, len(widths), width_ratios=widths)
            _draw_thumbnail(fig.add_subplot(cells[0, col + (1 if pad else 0)]), i + 1, moment, frame, pred.fps)

    top = "   ".join(f"{t.label} {t.score:.2f}" for t in pred.top[:3])
    fig.suptitle(f"{_name(pred)}:  {top}", fontsize=14, fontweight="bold")
    if path is not None:
        _save(fig, Path(path), dpi)
    return fig


def _name(pred: Any) -> str:
    return "frames in memory" if pred.source == "<frames>" else Path(pred.source).name


def _x(frame: float, fps: float | None) -> float:
    """A source frame position on the plot's time axis: seconds, or frames without a rate."""
    return frame / fps if fps else frame


def _draw_scores(ax: Any, pred: Any) -> None:
    fps = pred.fps
    ax.set_label("scores")
    ax.set_xlim(0, _x(pred.num_frames, fps))
    ax.set_xlabel("time in the video (s)" if fps else "frame")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    label_at = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for i, m in enumerate(pred.kept, 1):
        ax.axvspan(_x(m.first_frame, fps), _x(m.last_frame + 1, fps), color=KEPT, alpha=0.16, lw=0,
                   label="kept moments (the frames each one covers)" if i == 1 else None)
        ax.text(_x((m.first_frame + m.last_frame + 1) / 2, fps), 0.97, str(i), transform=label_at, ha="center",
                va="top", color=KEPT, fontsize=11, fontweight="bold")

    steps = len(pred.scores) if pred.scores else None
    what = f"SFC ratio {pred.ratio}: {len(pred.kept)} of {steps} head steps kept" if steps else \
        f"SFC ratio {pred.ratio}: {len(pred.kept)} moments kept"
    repeat = ", frames repeat" if pred.padded else ""
    ax.set_title(f"{what}; {pred.sampled_frames} samples over {pred.num_frames} frames{repeat}", loc="left",
                 fontsize=10, color=MUTED)
    ax.set_title(pred.runtime, loc="right", fontsize=10, color=MUTED)

    if pred.scores and pred.score_spans:
        xs = [_x((a + b + 1) / 2, fps) for a, b in pred.score_spans]
        ax.plot(xs, pred.scores, color=CURVE, lw=1.8, marker="o", ms=4, zorder=3,
                label="selection score of each head step (learned + prior)")
        chosen = _kept_steps(pred)
        ax.scatter([xs[s] for s in chosen], [pred.scores[s] for s in chosen], s=80, color=KEPT, edgecolor="white",
                   linewidth=1.5, zorder=4, label=f"kept: the {len(chosen)} highest")
        lo, hi = min(pred.scores), max(pred.scores)
        pad = max(hi - lo, 1e-3) * 0.25
        ax.set_ylim(lo - pad, hi + pad * 1.6)  # room for the moment numbers above the curve
        ax.set_ylabel("SFC selection score")
        ax.grid(axis="y", alpha=0.3)
    else:
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.text(0.5, 0.45, f"no selection scores: the {pred.runtime.split('/')[0]} runtime gives none (an exported "
                "bundle has no scores output)\nthe moments SFC kept are marked, their frames below",
                transform=ax.transAxes, ha="center", va="center", fontsize=9.5, color=MUTED, linespacing=1.6,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 3})
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2 if pred.scores else -0.45), ncol=3, fontsize=9,
              frameon=False)


def _kept_steps(pred: Any) -> list[int]:
    """The head step of each kept moment: the step covering the same frames (the highest
    scored of those when a short, repeated video gives several steps the same span)."""
    taken: set[int] = set()
    out = []
    for m in pred.kept:
        same = [s for s, span in enumerate(pred.score_spans)
                if tuple(span) == (m.first_frame, m.last_frame) and s not in taken]
        if same:
            best = max(same, key=lambda s: pred.scores[s])
            taken.add(best)
            out.append(best)
    return out


def _draw_thumbnail(ax: Any, number: int, moment: Any, frame: Any, fps: float | None) -> None:
    ax.set_label(f"kept {number}")
    ax.imshow(frame)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(KEPT)
        spine.set_linewidth(2.5)
    when = f"{moment.time_s:.2f} s" if moment.time_s is not None else f"frame {moment.frame}"
    ax.set_title(f"{number}   {when}", fontsize=11, color=KEPT, fontweight="bold")
    ax.set_xlabel(f"frame {moment.frame} ({moment.first_frame}-{moment.last_frame})", fontsize=7.5, color=MUTED)


def _thumbnails(pred: Any, video: Any) -> tuple[Any, str | None]:
    """The kept frames (K, h, w, 3), decoded from `video` or the prediction's file; or
    None and why not."""
    if video is None:
        if pred.source == "<frames>" or not Path(pred.source).is_file():
            return None, "no thumbnails: the video is not a file here (pass video= to plot())"
        video = pred.source
    wanted = [m.frame for m in pred.kept]
    # The plan may first see the container's (possibly wrong) frame count: stay in range.
    clip = sample_frames(video, lambda n: [min(f, max(n - 1, 0)) for f in wanted], THUMB_SHORT_SIDE, pred.fps)
    if clip.num_frames != pred.num_frames:
        raise ConfigError(f"{_name(pred)}: the video has {clip.num_frames} frames, but the prediction was made on "
                          f"one of {pred.num_frames}: not the same video")
    return clip.frames, None


def _save(fig: Any, path: Path, dpi: int) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.15)
    except OSError as e:
        raise ConfigError(f"cannot write the plot to {path}: {e.strerror or e}") from None
    except ValueError as e:  # a suffix matplotlib has no format for
        raise ConfigError(f"cannot write the plot to {path}: {e}") from None
